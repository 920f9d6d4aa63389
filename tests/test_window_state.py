"""The window fits the screen it opens on, keeps its plots readable on a short one, and remembers its size,
place and pane splits (in the test's own settings file: see conftest's TUNELAB_DATA_DIR)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QSplitter

from app import window_state
from app.main_window import MainWindow
from app.plots.live_plot import MIN_PLOT_HEIGHT

LAPTOP = QRect(0, 0, 1280, 720)  # the offscreen platform's one screen is 800×800: narrower than the window may be


@pytest.fixture(autouse=True)
def laptop_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_state, "available_area", lambda _window: LAPTOP)


def open_window(qtbot) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.mark.parametrize(
    "available",
    [QRect(0, 0, 1280, 720), QRect(0, 27, 1280, 693), QRect(0, 0, 1366, 768), QRect(1920, 0, 1280, 1024)],
)
def test_a_first_window_fits_the_available_screen(available: QRect) -> None:
    rect = window_state.first_geometry(available)
    assert available.contains(rect)
    assert rect.width() >= 0.9 * min(available.width(), 1360) and rect.height() >= 0.9 * min(available.height(), 860)


def test_a_large_screen_gets_the_preferred_size_centred() -> None:
    rect = window_state.first_geometry(QRect(0, 0, 2560, 1440))
    assert rect.size() == QSize(1360, 860) and rect.center() == QRect(0, 0, 2560, 1440).center()


def test_the_window_opens_inside_the_screen_it_is_on(qtbot) -> None:
    w = open_window(qtbot)
    assert LAPTOP.contains(w.geometry())
    assert w.minimumSizeHint().width() <= 1280 and w.minimumSizeHint().height() <= 720 - 40


def test_plots_keep_a_readable_height_and_scroll_in_a_short_window(qtbot) -> None:
    w = open_window(qtbot)
    w.resize(1000, 600)
    qtbot.wait(50)
    plots = w.training.plots
    for name in plots.names():
        assert plots.plot(name).height() >= MIN_PLOT_HEIGHT, name
    scroll = plots.parentWidget().parentWidget()  # the scroll area's viewport, then the area
    assert scroll.verticalScrollBar().maximum() > 0  # the lower plots are reached by scrolling


def test_size_place_and_splitters_come_back_in_the_next_session(qtbot) -> None:
    first = open_window(qtbot)
    first.setGeometry(40, 30, 950, 560)
    splitter = first.training.findChild(QSplitter)
    splitter.setSizes([480, 450])
    wanted = splitter.sizes()
    qtbot.wait(20)
    first.close()
    second = open_window(qtbot)
    assert second.height() == 560  # (Qt keeps a restored window inside the 800 px offscreen screen's width)
    assert (
        second.training.findChild(QSplitter).sizes()[0] == wanted[0] > 440
    )  # the form pane (400 by default) as it was left


def test_a_saved_size_larger_than_the_screen_is_not_restored(qtbot) -> None:
    first = open_window(qtbot)
    first.resize(2400, 1600)  # saved on a larger monitor
    first.close()
    second = open_window(qtbot)
    assert LAPTOP.contains(second.geometry())


def test_each_splitter_gets_its_own_state_back_after_every_tab_was_shown(qtbot) -> None:
    first = open_window(qtbot)
    first.setGeometry(40, 30, 950, 560)
    for i in range(first.tabs.count()):  # showing the tabs changes the order Qt lists the splitters in
        first.tabs.setCurrentIndex(i)
        qtbot.wait(10)
    first.tabs.setCurrentWidget(first.search)
    outer = first.search.findChild(QSplitter)  # the form beside the plots and the table
    outer.setSizes([470, 450])
    wanted = outer.sizes()
    saved = {key: s.orientation() for key, s in window_state._splitters(first).items()}
    qtbot.wait(20)
    first.close()
    second = open_window(qtbot)
    second.tabs.setCurrentWidget(second.search)
    qtbot.wait(20)
    restored = window_state._splitters(second)
    assert len(restored) == len(saved) == 8
    for key, splitter in restored.items():
        assert splitter.orientation() == saved[key], key  # no split turned on its side
    assert second.search.findChild(QSplitter).sizes()[0] == wanted[0] > 440  # the form pane (420 by default)
