"""The report sections every trial has (summary, config, environment) and those of a training run (curves, the
diagnosis and the per-epoch table)."""

from __future__ import annotations

from html import escape
from typing import Any, Sequence

from trainers.diagnosis.diagnose import Diagnosis
from trainers.store.records import EpochRecord, TrialRecord
from trainers.use.report_html import (
    cards,
    figure,
    flatten,
    fmt,
    key_values,
    percent,
    seconds_text,
    section,
    table,
)
from trainers.use.report_svg import PALETTE, Series, line_chart

TRAIN_COLOR, VAL_COLOR = PALETTE[0], PALETTE[1]
LOG_LR_RATIO = 20.0  # a rate spanning more than this factor is drawn on a log axis


def summary_section(trial: TrialRecord) -> str:
    """The headline numbers as cards, then the trial's record."""
    head = cards(
        [
            ("status", trial.status),
            ("best val accuracy", percent(trial.best_val_acc)),
            ("test accuracy", percent(trial.test_acc)),
            ("best val loss", fmt(trial.best_val_loss)),
            ("epochs", _epochs_text(trial)),
            ("duration", seconds_text(trial.duration_s)),
        ]
    )
    record = key_values(
        [
            ("trial", trial.id),
            ("kind", trial.kind),
            ("name", trial.name),
            ("dataset", trial.dataset_label or trial.dataset),
            ("model", trial.model),
            ("optimizer", trial.optimizer),
            ("learning rate", trial.lr),
            ("batch size", trial.batch_size),
            ("seed", trial.seed),
            ("kept epoch", trial.best_epoch),
            ("best val accuracy", trial.best_val_acc),
            ("best val loss", trial.best_val_loss),
            ("final train loss", trial.final_train_loss),
            ("test accuracy", trial.test_acc),
            ("test loss", trial.test_loss),
            ("created", trial.created_at),
            ("ended", trial.ended_at),
            ("message", trial.message),
            ("notes", trial.notes),
        ]
    )
    return section("summary", "Summary", head + "<h3>Record</h3>" + record)


def _epochs_text(trial: TrialRecord) -> str:
    """ "5 / 20" (run / planned); "" for a trial that trains no epochs of its own (an ensemble of stored trials)."""
    if not trial.epochs_run and not trial.epochs_planned:
        return ""
    return f"{trial.epochs_run}" + (f" / {trial.epochs_planned}" if trial.epochs_planned else "")


def config_section(config: dict[str, Any], title: str = "Configuration") -> str:
    """The config's fields, one small table per part (data, model, optim, ...) side by side."""
    rows = flatten(config)
    if not rows:
        return section("config", title, '<p class="note">No configuration was stored.</p>')
    groups: dict[str, list[tuple[str, Any]]] = {}
    for name, value in rows:
        part, _, rest = name.partition(".")
        groups.setdefault(part if rest else "", []).append((rest or name, value))
    tables = [f"<div><h3>{escape(part)}</h3>{table(['field', 'value'], items)}</div>" for part, items in groups.items()]
    return section("config", title, f'<div class="columns">{"".join(tables)}</div>')


def curves_section(epochs: Sequence[EpochRecord], kept_epoch: int | None) -> str:
    """Loss, accuracy and learning rate per epoch, training against validation."""
    if not epochs:
        return section("curves", "Curves", '<p class="note">The run recorded no finished epoch.</p>')
    xs = [e.epoch for e in epochs]

    def pair(train: list[float | None], val: list[float | None]) -> list[Series]:
        return [Series("train", xs, train, TRAIN_COLOR), Series("validation", xs, val, VAL_COLOR, dashed=True)]

    loss = line_chart(
        "Loss per epoch",
        pair([e.train_loss for e in epochs], [e.val_loss for e in epochs]),
        "epoch",
        "loss",
        marker_x=kept_epoch,
    )
    acc = line_chart(
        "Accuracy per epoch",
        pair([e.train_acc for e in epochs], [e.val_acc for e in epochs]),
        "epoch",
        "accuracy",
        marker_x=kept_epoch,
    )
    rates = [e.lr for e in epochs if e.lr]
    log = bool(rates) and max(rates) / min(rates) > LOG_LR_RATIO
    rate = [Series("learning rate", xs, [e.lr for e in epochs], PALETTE[2])]
    lr = line_chart("Learning rate per epoch", rate, "epoch", "learning rate", log_y=log)
    charts = [figure("Loss (train vs validation)", loss), figure("Accuracy (train vs validation)", acc)]
    charts.append(figure("Learning rate", lr))
    note = f'<p class="note">The dotted line marks the kept epoch ({kept_epoch}).</p>' if kept_epoch else ""
    return section("curves", "Curves", f'<div class="charts">{"".join(charts)}</div>{note}')


def epochs_section(epochs: Sequence[EpochRecord]) -> str:
    headers = ["epoch", "train loss", "train acc", "val loss", "val acc", "learning rate", "seconds", "samples/s"]
    rows = [
        (e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.lr, e.seconds, e.samples_per_sec) for e in epochs
    ]
    body = f"<details><summary>{len(rows)} epochs</summary>{table(headers, rows)}</details>"
    return section("epochs", "Epochs", body)


def diagnosis_section(diagnosis: Diagnosis | None, why_not: str = "") -> str:
    if diagnosis is None:
        return section("diagnosis", "Diagnosis", f'<p class="note">{escape(why_not or "No diagnosis.")}</p>')
    onset = f" (from epoch {diagnosis.onset_epoch})" if diagnosis.onset_epoch is not None else ""
    parts = [
        f'<p><strong class="label-{escape(diagnosis.label)}">{escape(diagnosis.title)}</strong>{escape(onset)}: '
        f"{escape(diagnosis.summary)}</p>",
        "<h3>Evidence</h3>",
        '<ul class="evidence">' + "".join(f"<li>{escape(e.text)}</li>" for e in diagnosis.evidence) + "</ul>",
    ]
    if diagnosis.interventions:
        items = []
        for item in diagnosis.interventions:
            changes = ", ".join(f"{k} = {fmt(v)}" for k, v in item.changes.items())
            change = f" <code>{escape(changes)}</code>" if changes else ""
            items.append(f"<li><strong>{escape(item.title)}</strong>: {escape(item.why)}{change}</li>")
        parts += ["<h3>What to try, best first</h3>", '<ol class="interventions">' + "".join(items) + "</ol>"]
    return section("diagnosis", "Diagnosis", "".join(parts))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)  # one alignment for the column: these are labels, not measures


def environment_section(trial: TrialRecord, here: dict[str, Any]) -> str:
    """Where the trial ran (kept with it) and where this report was made."""
    ran = trial.extra.get("environment") or {}
    names = ("tunelab", "torch", "cuda", "python", "platform", "device", "device_name", "threads", "host")
    requested = (trial.config.get("train") or {}).get("device")
    rows = [
        (n.replace("_", " "), _text(ran.get(n, trial.host if n == "host" else None)), _text(here.get(n))) for n in names
    ]
    rows.insert(5, ("device asked for", requested, None))
    body = table(["", "the trial ran on", "this report was made on"], rows)
    if not ran:
        body += '<p class="note">This trial was recorded before versions and devices were kept with trials.</p>'
    return section("environment", "Environment", body)
