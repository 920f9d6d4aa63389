"""Help → Keyboard shortcuts (F1): every shortcut of the window's menus, read from the actions themselves, plus
the keys that work inside the tabs."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

# Keys the menus do not list.
OTHER_KEYS = (
    ("Alt + underlined letter", "Open a menu, switch tab or press a button"),
    ("Tab / Shift+Tab", "Move between the form's fields"),
    ("Mouse wheel on a plot", "Zoom; drag to pan; right-click for the plot's menu"),
)


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str]]:
    """(keys, what it does) for every menu action with a shortcut, in menu order."""
    rows: list[tuple[str, str]] = []
    for menu_action in bar.actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        for action in menu.actions():
            keys = _keys(action)
            if keys:
                rows.append((keys, f"{menu_action.text()} → {action.text()}".replace("&", "")))
    return rows


def tab_shortcuts(tabs: QTabWidget) -> list[tuple[str, str]]:
    """(Alt+letter, which tab it shows) for every tab whose title marks a letter, in tab order."""
    rows: list[tuple[str, str]] = []
    for i in range(tabs.count()):
        title = tabs.tabText(i)
        keys = QKeySequence.mnemonic(title).toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, f"Show the {title.replace('&', '')} tab"))
    return rows


def _keys(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts() if not s.isEmpty())


class ShortcutsDialog(QDialog):
    def __init__(self, bar: QMenuBar, parent: QWidget | None = None, tabs: QTabWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = menu_shortcuts(bar) + (tab_shortcuts(tabs) if tabs is not None else []) + list(OTHER_KEYS)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        for r, (keys, what) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(keys))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        self.table.verticalHeader().hide()
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The README describes each tab; Help → About TuneLab shows the versions."))
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 420)
