"""The HTML report: one self-contained file (nothing fetched from a network), well formed, with every section and
the store's own numbers in it. Trials are written into a real SQLite store by hand, so the numbers are known."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from trainers.cli.main import main
from trainers.evaluation.compute import evaluation_from_probs
from trainers.spec.config import RunConfig
from trainers.spec.errors import StoreError
from trainers.store import TrialStore
from trainers.use.report import report_html, write_report
from trainers.use.report_html import fmt, percent
from trainers.use.report_search import best_so_far
from trainers.use.report_svg import nice_ticks

VOID = {"meta", "br", "img", "hr", "input", "link", "col", "source", "wbr", "area", "base", "embed", "track"}
# (train_loss, train_acc, val_loss, val_acc, lr) per epoch: validation bottoms out at epoch 4
EPOCHS = [
    (2.10, 0.40, 1.90, 0.45, 0.01),
    (1.20, 0.70, 1.10, 0.68, 0.01),
    (0.60, 0.85, 0.70, 0.80, 0.005),
    (0.30, 0.93, 0.55, 0.84, 0.005),
    (0.15, 0.97, 0.58, 0.83, 0.001),
]
ENVIRONMENT = {"tunelab": "0.1.0", "torch": "2.99.0-test", "python": "3.11.7", "device": "cuda:0", "host": "gpu-7"}
HERE = {"tunelab": "0.1.0", "torch": "2.14.1", "python": "3.11.7", "device": "cpu", "host": "laptop"}


class Checked(HTMLParser):
    """Parses a document, checking every element is closed in order; keeps the URLs it refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "srcset", "data")]
        self.styles += [v or "" for k, v in attrs if k == "style"]
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.open[-1] if self.open else 'nothing'}>")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style":
            self.styles.append(data)


def checked(html: str) -> Checked:
    parser = Checked()
    parser.feed(html)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert parser.open == [], f"left open: {parser.open}"
    return parser


def assert_self_contained(html: str) -> Checked:
    doc = checked(html)
    remote = [u for u in doc.urls if re.match(r"\s*(https?:)?//", u, re.I)]
    assert remote == [], remote
    css_urls = [u for s in doc.styles for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", s)]
    assert [u for u in css_urls if not u.startswith("data:")] == []
    assert not {"script", "link", "iframe", "object", "embed"} & set(doc.tags)
    assert "@import" not in html and not re.search(r"""(src|href)\s*=\s*["']?https?:""", html, re.I)
    return doc


def section_of(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert found, f"no section {section_id}"
    return found.group(1)


def cells(fragment: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", fragment, re.S)]


def training_trial(store: TrialStore) -> int:
    cfg = RunConfig().replace(**{"train.epochs": 5, "optim.lr": 0.01})
    trial_id = store.create_trial(
        "train",
        cfg.to_dict(),
        name="wide mlp",
        dataset="digits",
        model="mlp",
        optimizer="adam",
        lr=0.01,
        epochs_planned=5,
        extra={"environment": ENVIRONMENT, "num_classes": 3},
    )
    for epoch, (tl, ta, vl, va, lr) in enumerate(EPOCHS, start=1):
        store.add_epoch(
            trial_id,
            epoch,
            train_loss=tl,
            train_acc=ta,
            val_loss=vl,
            val_acc=va,
            lr=lr,
            seconds=0.5,
            samples_per_sec=3000.0,
        )
    store.finish_trial(
        trial_id,
        "completed",
        best_epoch=4,
        best_val_acc=0.84,
        best_val_loss=0.55,
        final_train_loss=0.15,
        test_acc=0.8125,
        test_loss=0.61,
    )
    return trial_id


def stored_evaluation(store: TrialStore, trial_id: int) -> dict:
    """A small fixed example: 8 samples of 3 classes, two of them wrong."""
    probs = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.7, 0.2, 0.1],
            [0.2, 0.6, 0.2],
            [0.1, 0.8, 0.1],
            [0.3, 0.3, 0.4],
            [0.1, 0.1, 0.8],
            [0.55, 0.4, 0.05],
            [0.2, 0.1, 0.7],
        ]
    )
    y = np.array([0, 0, 1, 1, 2, 2, 1, 0])
    ev = evaluation_from_probs(probs, y, ("cat", "dog", "owl"), trial_id=trial_id, split="test").to_dict()
    store.update_trial(trial_id, extra={"evaluation": {"test": ev}})
    return ev


@pytest.fixture
def store(tmp_path: Path) -> TrialStore:
    with TrialStore(str(tmp_path / "trials.db")) as opened:
        yield opened


def test_a_training_report_is_self_contained_and_shows_the_stored_numbers(store: TrialStore) -> None:
    trial_id = training_trial(store)
    ev = stored_evaluation(store, trial_id)
    html = report_html(store, trial_id, here=HERE)
    assert_self_contained(html)
    for part in ("summary", "curves", "diagnosis", "evaluation", "config", "epochs", "environment"):
        assert f'<section id="{part}">' in html
    summary = section_of(html, "summary")
    assert percent(0.84) in summary and percent(0.8125) in summary and "wide mlp" in summary
    # the curves: loss, accuracy and learning rate, each an inline SVG; validation dashed against training
    curves = section_of(html, "curves")
    assert curves.count("<svg") == 3 and 'stroke-dasharray="6 4"' in curves
    assert "kept epoch (4)" in curves
    epochs = cells(section_of(html, "epochs"))
    for epoch, (tl, ta, vl, va, lr) in enumerate(EPOCHS, start=1):
        at = epochs.index(str(epoch))
        assert epochs[at + 1 : at + 6] == [fmt(tl), fmt(ta), fmt(vl), fmt(va), fmt(lr)]
    # the config is grouped: the part's name, then its fields
    config = section_of(html, "config")
    assert "<h3>optim</h3>" in config and ">lr<" in config and fmt(0.01) in cells(config)
    assert "the trial ran on" in html and "this report was made on" in html
    environment = cells(section_of(html, "environment"))
    assert "2.99.0-test" in environment and "gpu-7" in environment and "2.14.1" in environment
    # the evaluation: the counts of the confusion matrix, the per-class F1, the ECE, the mistakes
    evaluation = section_of(html, "evaluation")
    matrix = re.search(r'<table class="confusion">(.*?)</table>', evaluation, re.S)
    assert matrix and [int(c) for c in cells(matrix.group(1))] == [n for row in ev["confusion"] for n in row]
    assert ev["confusion"] == [[2, 0, 1], [1, 2, 0], [0, 0, 2]]  # sample 7 (a cat) taken for an owl
    per_class = cells(evaluation)
    for f1 in ev["per_class"]["f1"]:
        assert fmt(f1) in per_class
    assert f"ECE {fmt(ev['reliability']['ece'])}" in evaluation and "Most confident mistakes" in evaluation
    assert math.isclose(ev["accuracy"], 6 / 8)


def test_the_diagnosis_is_the_one_the_store_gives(store: TrialStore) -> None:
    from trainers.diagnosis.diagnose import diagnose_trial

    trial_id = training_trial(store)
    d = diagnose_trial(store, trial_id)
    diagnosis = section_of(report_html(store, trial_id, here=HERE), "diagnosis")
    assert d.title in diagnosis and d.evidence and all(e.text.replace("'", "&#x27;") in diagnosis for e in d.evidence)
    assert all(i.title in diagnosis for i in d.interventions)


def test_no_evaluation_section_until_one_is_stored(store: TrialStore) -> None:
    html = report_html(store, training_trial(store), here=HERE)
    assert '<section id="evaluation">' not in html and '<section id="curves">' in html


def test_an_ensemble_report_lists_its_members_and_their_scores(store: TrialStore) -> None:
    members = [
        {
            "label": "trial 1",
            "trial_id": 1,
            "weight": 0.6,
            "val_acc": 0.91,
            "val_loss": 0.3,
            "test_acc": 0.9,
            "test_loss": 0.31,
        },
        {
            "label": "trial 2",
            "trial_id": 2,
            "weight": 0.4,
            "val_acc": 0.89,
            "val_loss": 0.35,
            "test_acc": 0.88,
            "test_loss": 0.36,
        },
    ]
    whole = {
        "label": "ensemble",
        "trial_id": None,
        "weight": None,
        "val_acc": 0.93,
        "val_loss": 0.25,
        "test_acc": 0.925,
        "test_loss": 0.27,
    }
    extra = {
        "ensemble": {
            "method": "weighted",
            "members": members,
            "ensemble": whole,
            "diversity": 0.07,
            "gains": {"test_acc": {"best": 0.025, "mean": 0.035, "first": 0.025}},
        }
    }
    trial_id = store.create_trial("ensemble", {}, name="weighted of 2", dataset="digits", extra=extra)
    store.finish_trial(trial_id, "completed", best_val_acc=0.93, test_acc=0.925)
    html = report_html(store, trial_id, here=HERE)
    assert_self_contained(html)
    table = cells(section_of(html, "members"))
    for m in [*members, whole]:
        at = table.index(m["label"])
        assert table[at + 3 : at + 7] == [fmt(m[k]) for k in ("val_acc", "val_loss", "test_acc", "test_loss")]
    assert '<tr class="best"><td>ensemble</td>' in html  # the ensemble's own row stands out
    assert fmt(0.025) in table


def test_a_search_whose_study_is_gone_still_reports_its_kept_result(store: TrialStore) -> None:
    kept = {
        "study": "search-1",
        "storage": "/nowhere.optuna.journal",
        "best_trial_id": 7,
        "best_number": 2,
        "best_value": 0.8444,
        "best_params": {"optim.lr": 0.0087},
        "counts": {"complete": 6, "pruned": 4},
        "seconds": 6.9,
        "monitor": "val_acc",
    }
    trial_id = store.create_trial("search", {}, extra={"result": kept, "search": {"space": {"lr": "log:1e-4:1e-1"}}})
    store.finish_trial(trial_id, "completed")
    html = report_html(store, trial_id, here=HERE)
    assert_self_contained(html)
    summary = section_of(html, "summary")
    assert "0.8444" in summary and "#2 (trial 7)" in summary and "6 complete, 4 pruned" in summary
    assert "Trials not available" in section_of(html, "trials")


def test_write_report_adds_the_suffix_and_says_where_it_cannot_write(store: TrialStore, tmp_path: Path) -> None:
    trial_id = training_trial(store)
    written = write_report(store, trial_id, tmp_path / "out" / "report")
    assert written == tmp_path / "out" / "report.html" and written.read_text().startswith("<!DOCTYPE html>")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StoreError, match="cannot write the report to .*a-file"):
        write_report(store, trial_id, tmp_path / "a-file" / "report.html")
    with pytest.raises(StoreError, match="no trial 99"):
        write_report(store, 99, tmp_path / "r.html")


def test_tunelab_report_writes_the_file_and_refuses_an_unknown_trial(
    store: TrialStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial_id = training_trial(store)
    out = tmp_path / "r.html"
    assert main(["report", str(trial_id), "-o", str(out), "--store", store.url]) == 0
    assert capsys.readouterr().out.strip() == str(out) and '<section id="curves">' in out.read_text()
    assert main(["report", "42", "-o", str(out), "--store", store.url]) == 2
    assert capsys.readouterr().err.strip() == "tunelab: error: there is no trial 42 in the store"


def test_chart_helpers() -> None:
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert best_so_far([0.5, None, 0.4, 0.7, 0.6], minimise=False) == [0.5, 0.5, 0.5, 0.7, 0.7]
    assert best_so_far([None, 0.5, 0.6, 0.3], minimise=True) == [None, 0.5, 0.5, 0.3]


def test_a_running_run_and_other_kinds_still_get_a_report(store: TrialStore) -> None:
    running = store.create_trial("train", RunConfig().to_dict(), dataset="digits", model="mlp")
    store.add_epoch(
        running,
        1,
        train_loss=2.0,
        train_acc=0.3,
        val_loss=1.9,
        val_acc=0.35,
        lr=0.001,
        seconds=1.0,
        samples_per_sec=100.0,
    )
    html = report_html(store, running, here=HERE)
    assert_self_contained(html)
    assert "Only a finished run is diagnosed." in section_of(html, "diagnosis")
    assert "recorded before versions and devices were kept" in section_of(html, "environment")
    other = store.create_trial("lr_test", {"optim": {"lr": 1e-3}})
    html = report_html(store, other, here=HERE)
    assert_self_contained(html)
    assert "lr_test" in section_of(html, "summary") and '<section id="curves">' not in html
