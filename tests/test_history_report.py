"""History's Report button: it asks for a file name, the window's job runner writes the report off the GUI thread,
and the tab says where it went (or why it could not)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from PySide6.QtWidgets import QFileDialog
from test_report import training_trial
from window_helpers import window_on

from app.main_window import MainWindow
from trainers.store import TrialStore


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    url = str(tmp_path / "trials.db")
    with TrialStore(url) as store:
        training_trial(store)
    with window_on(qtbot, url, "history") as w:
        yield w


def test_the_report_button_writes_the_selected_trials_report(qtbot, window: MainWindow, tmp_path: Path, monkeypatch):
    tab = window.history
    tab.select_ids([1])
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is not tab.hint, timeout=5000)
    assert tab.actions.report.isEnabled() and tab.actions.report in tab.actions.all()
    target = tmp_path / "shared" / "trial one"  # no suffix: .html is added
    asked: list[str] = []

    def save_name(parent, caption, default, filters):  # type: ignore[no-untyped-def]
        asked.append(default)
        return str(target), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    with qtbot.waitSignal(tab.reporter.written, timeout=60_000) as written:
        tab.actions.report.trigger()
        assert "Writing the report of trial 1" in tab.message.text()  # said at once; the file comes later
    assert asked == ["report-1.html"]
    path = Path(written.args[0])
    assert path == tmp_path / "shared" / "trial one.html" and '<section id="curves">' in path.read_text()
    qtbot.waitUntil(lambda: window.runner.idle, timeout=5000)
    assert tab.message.text() == f"Report written to {path}"


def test_a_report_that_cannot_be_written_says_why_in_one_line(qtbot, window: MainWindow, tmp_path: Path, monkeypatch):
    tab = window.history
    tab.select_ids([1])
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is not tab.hint, timeout=5000)
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(tmp_path / "a-file" / "r.html"), ""))
    tab.actions.report.trigger()
    qtbot.waitUntil(lambda: tab.message.text().startswith("Could not write the report"), timeout=60_000)
    assert "cannot write the report to" in tab.message.text() and "\n" not in tab.message.text()
