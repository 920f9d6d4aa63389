"""The report sections of an ensemble: its members and their scores against the ensemble's, and what it gained."""

from __future__ import annotations

from html import escape

from trainers.spec.ensemble_events import EnsembleResult, MemberScore
from trainers.use.report_html import cards, fmt, key_values, percent, section, table


def _row(score: MemberScore) -> tuple:
    return (score.label, score.trial_id, score.weight, score.val_acc, score.val_loss, score.test_acc, score.test_loss)


def members_section(result: EnsembleResult) -> str:
    """The members' scores, then the ensemble's and the best single stored trial's, scored alike."""
    headers = ["member", "trial", "weight", "val acc", "val loss", "test acc", "test loss"]
    rows = [_row(m) for m in result.members]
    ensemble_row = None
    if result.best_single is not None:  # may be a member too: its row says what it stands for here
        rows.append((f"best single trial: {result.best_single.label}", *_row(result.best_single)[1:]))
    if result.ensemble is not None:
        ensemble_row = len(rows)
        rows.append(_row(result.ensemble))
    parts = [
        cards(
            [
                ("method", result.method),
                ("members", str(len(result.members))),
                ("ensemble val acc", percent(result.ensemble.val_acc) if result.ensemble else ""),
                ("ensemble test acc", percent(result.ensemble.test_acc) if result.ensemble else ""),
                ("diversity", fmt(result.diversity, 3)),
            ]
        ),
        "<h3>Members and their scores</h3>",
        table(headers, rows, best_row=ensemble_row),
    ]
    if result.member_note:
        parts.append(f'<p class="note">{escape(result.member_note)}</p>')
    parts.append(_gains(result))
    return section("members", "Ensemble members", "".join(parts))


def _gains(result: EnsembleResult) -> str:
    rows = [
        (metric, gains.get("best"), gains.get("mean"), gains.get("first"))
        for metric, gains in result.gains.items()
        if isinstance(gains, dict)
    ]
    if not rows:
        return ""
    note = '<p class="note">Accuracy of the ensemble minus that of its best member, the mean member and the best '
    note += "single stored trial (0.01 = one point).</p>"
    return "<h3>Gain over the members</h3>" + table(["metric", "vs best", "vs mean", "vs best single"], rows) + note


def ensemble_facts(result: EnsembleResult) -> str:
    return key_values(
        [
            ("method", result.method),
            ("status", result.status),
            ("stored trials combined or chosen among", result.pool or None),
            ("diversity split", result.diversity_split),
            ("seconds", result.seconds),
            ("file", result.file),
            ("message", result.message),
        ]
    )
