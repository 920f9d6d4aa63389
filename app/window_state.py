"""The main window's size and place on the screen, and the split between its panes, kept between sessions.

A first start sizes the window to the screen it opens on (a 1280×720 laptop gets a window that fits, with room
for the desktop's panels); later starts restore the last geometry and splitter positions from the settings
file, unless they no longer fit the screen (a smaller monitor, another scale factor).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter

from app.recent_files import settings

PREFERRED = QSize(1360, 860)  # enough for the form beside two columns of plots
SCREEN_SHARE = 0.92  # of the available area, so the frame and the desktop's panels stay in view
_GEOMETRY = "window/geometry"
_SPLITTERS = "window/splitter-states"  # {splitter_key: state}


def first_geometry(available: QRect, preferred: QSize = PREFERRED) -> QRect:
    """Where a window opens the first time: `preferred`, shrunk to fit `available`, centred on it."""
    width = min(preferred.width(), int(available.width() * SCREEN_SHARE))
    height = min(preferred.height(), int(available.height() * SCREEN_SHARE))
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def available_area(window: QMainWindow) -> QRect:
    """The screen area the window may use (without the desktop's panels), in logical pixels."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, PREFERRED.width(), PREFERRED.height())


def restore(window: QMainWindow) -> None:
    """The last session's geometry and splitters when they fit the screen, else a first-start size."""
    store = settings()
    saved = store.value(_GEOMETRY)
    area = available_area(window)
    if isinstance(saved, QByteArray) and window.restoreGeometry(saved) and _fits(window.frameGeometry(), area):
        _restore_splitters(window, store.value(_SPLITTERS))
        return
    window.setGeometry(first_geometry(area))


def save(window: QMainWindow) -> None:
    store = settings()
    store.setValue(_GEOMETRY, window.saveGeometry())
    store.setValue(_SPLITTERS, {key: s.saveState() for key, s in _splitters(window).items()})
    store.sync()


def _fits(frame: QRect, area: QRect) -> bool:
    return frame.width() <= area.width() + 2 and frame.height() <= area.height() + 2


def _splitters(window: QMainWindow) -> dict[str, QSplitter]:
    """Every splitter in the window by a name that is the same in every session: the classes of the widgets it sits
    in. Not its place in Qt's list of children: that order changes once the tabs have been shown, and a state saved
    for one splitter then lands on another (turning a side-by-side split into a stacked one)."""
    found: dict[str, QSplitter] = {}
    for splitter in window.findChildren(QSplitter):
        path, widget = [], splitter
        while widget is not None and widget is not window:
            path.append(type(widget).__name__)
            widget = widget.parentWidget()
        key = ".".join(reversed(path))
        found[key if key not in found else f"{key}#{len(found)}"] = splitter
    return found


def _restore_splitters(window: QMainWindow, states: object) -> None:
    if not isinstance(states, dict):
        return  # none saved yet, or saved by a version that listed them in order: keep the built-in sizes
    for key, splitter in _splitters(window).items():
        state = states.get(key)
        if isinstance(state, QByteArray):
            splitter.restoreState(state)
