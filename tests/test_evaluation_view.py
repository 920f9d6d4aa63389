"""History's Evaluation view on real trials: a digits run (evaluation stored as it finished), an ensemble of two
(evaluated when first opened, in a worker thread) and a CSV run whose mistakes show their rows."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt
from window_helpers import run_to_end, window_on

from app.history.detail_pane import TrialDetail
from app.main_window import MainWindow
from trainers.api import EnsembleSettings, TrialStore, run_ensemble, run_training
from trainers.spec.config import RunConfig

TINY = RunConfig().replace(
    **{"train.epochs": 1, "train.threads": 1, "model.hidden_layers": 1, "model.hidden_units": 16}
)
SHOW_MS = 60_000


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evaluation-view")
    rng = np.random.default_rng(1)
    rows = ["width,shape,label"] + [
        f"{rng.normal():.2f},{['round', 'square'][i % 2]},{rng.choice(['a', 'b', 'c'])}" for i in range(90)
    ]
    (folder / "table.csv").write_text("\n".join(rows) + "\n")
    with TrialStore(str(folder / "trials.db")) as store:
        a = run_training(TINY, store=store).trial_id  # 1
        b = run_training(TINY.replace(**{"train.seed": 1}), store=store).trial_id  # 2
        run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, {b}"), store=store)  # 3
        csv = TINY.replace(**{"data.source": "csv", "data.path": str(folder / "table.csv")})
        run_training(csv, store=store)  # 4
    return folder


@pytest.fixture
def window(qtbot, store_url: str) -> Iterator[MainWindow]:
    with window_on(qtbot, store_url, "history") as w:
        yield w


def open_evaluation(qtbot, window: MainWindow, trial_id: int) -> TrialDetail:
    tab = window.history
    tab.filters.choose("dataset", None)  # all datasets: the CSV run is not ranked with the digits runs
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=30_000)
    tab.select_ids([trial_id])
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is tab.detail, timeout=30_000)
    detail = tab.detail
    with qtbot.waitSignal(detail.evaluation.shown, timeout=SHOW_MS) as blocker:
        detail.views.setCurrentWidget(detail.evaluation)
    assert blocker.args == [trial_id]
    return detail


def test_a_digits_run_shows_its_stored_evaluation(qtbot, window: MainWindow, store_url: str) -> None:
    view = open_evaluation(qtbot, window, 1).evaluation
    with TrialStore(store_url) as store:
        trial = store.get_trial(1)
    ev = view.evaluation
    assert ev.split == "test" and ev.accuracy == pytest.approx(trial.test_acc)
    assert f"accuracy <b>{trial.test_acc:.4f}</b>" in view.summary.text()
    assert "expected calibration error" in view.summary.text()
    assert view.classes.rowCount() == 12  # ten digits and the two averages
    assert view.classes.item(10, 0).text() == "macro average"
    assert view.classes.item(0, 4).text() == str(int(ev.per_class.support[0]))
    image = view.confusion.image.image
    assert image is not None and image.shape == (10, 10)
    assert len(view.confusion.texts) == np.count_nonzero(ev.confusion)  # counts written in the non-empty cells
    assert view.reliability.bars is not None
    assert view.mistakes.rowCount() == len(ev.mistakes) > 0
    pixmap = view.mistakes.item(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert pixmap is not None and not pixmap.isNull() and pixmap.height() == 56
    assert view.mistakes.item(0, 1).text() == ev.mistakes[0].true


def test_the_validation_split_and_an_ensemble_computed_on_opening(qtbot, window: MainWindow, store_url: str) -> None:
    view = open_evaluation(qtbot, window, 3).evaluation
    assert view.evaluation.kind == "ensemble"
    with TrialStore(store_url) as store:
        assert "test" in store.get_trial(3).extra["evaluation"]  # stored: the next opening is instant
    with qtbot.waitSignal(view.shown, timeout=SHOW_MS):
        view.split.setCurrentIndex(1)
        view.split.activated.emit(1)
    assert view.evaluation.split == "val" and view.split.currentData() == "val"


def test_csv_mistakes_show_their_rows(qtbot, window: MainWindow) -> None:
    view = open_evaluation(qtbot, window, 4).evaluation
    assert view.evaluation.columns == ("width", "shape", "label")
    text = view.mistakes.item(0, 0).text()
    assert text.startswith("line ") and "shape=" in text and "label=" in text
    assert view.classes.rowCount() == 3 + 2


def test_a_run_ends_with_a_button_to_its_evaluation(qtbot, store_url: str) -> None:
    with window_on(qtbot, store_url, "training", config=TINY) as w:
        tab = w.training
        assert not tab.panel.evaluation_button.isVisibleTo(tab)
        outcome = run_to_end(qtbot, tab, lambda: qtbot.mouseClick(tab.panel.train_button, Qt.MouseButton.LeftButton))
        assert outcome.result.status == "completed"
        assert tab.panel.evaluation_button.isVisibleTo(tab)
        w.history.filters.choose("dataset", None)
        detail = w.history.detail
        with qtbot.waitSignal(detail.evaluation.shown, timeout=SHOW_MS) as blocker:
            qtbot.mouseClick(tab.panel.evaluation_button, Qt.MouseButton.LeftButton)
        assert w.tabs.currentWidget() is w.history and detail.views.currentWidget() is detail.evaluation
        assert blocker.args == [outcome.result.trial_id]
        assert detail.evaluation.evaluation.accuracy == pytest.approx(outcome.result.test_acc)
