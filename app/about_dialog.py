"""Help → About TuneLab: name, version, PyTorch and Qt versions, the device found, licences; Copy puts it
all on the clipboard for a bug report. The device line fills in once the engine answers: opening the
dialog never waits for torch."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.about_info import (
    APP_LICENCE,
    bundled_data_licences,
    component_rows,
    device_line,
    licence_texts_folder,
    python_version,
    qt_versions,
)
from resources import resource_path
from trainers.spec.version import VERSION

DETECTING = "detecting…"
POLL_MS = 100


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About TuneLab {VERSION}")
        self.setMinimumWidth(560)
        components = component_rows()
        versions = {name: version for name, version, _licence in components}
        header = QLabel(f"<h2>TuneLab {VERSION}</h2>A desktop workbench that makes deep-learning models train well.")
        header.setWordWrap(True)
        icon = QLabel()
        icon.setPixmap(QIcon(str(resource_path("icons", "tunelab.svg"))).pixmap(64, 64))
        self.device = QLabel(DETECTING)
        self.device.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Version", QLabel(VERSION))
        form.addRow("PyTorch", QLabel(versions["PyTorch"]))
        form.addRow("torchvision", QLabel(versions["torchvision"]))
        form.addRow("Qt", QLabel(qt_versions()))
        form.addRow("Python", QLabel(python_version()))
        form.addRow("Device", self.device)
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.licences = QPlainTextEdit(self._licence_text(components))
        self.licences.setReadOnly(True)
        self.licences.setMinimumHeight(200)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(icon)
        layout.addWidget(header)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Licences</b>"))
        layout.addWidget(self.licences)
        layout.addWidget(buttons)
        self._form = form
        self._pending = device_line()
        self._poll = QTimer(self, interval=POLL_MS, timeout=self._show_device)
        self._poll.start()
        self._show_device()

    def _show_device(self) -> None:
        if self._pending.done():
            self._poll.stop()
            self.device.setText(self._pending.result())

    @staticmethod
    def _licence_text(components: list[tuple[str, str, str]]) -> str:
        lines = [f"TuneLab: {APP_LICENCE}", "", "Bundled data:"]
        lines += [f"  {line}" for line in bundled_data_licences()]
        lines += ["", "Components:"]
        lines += [f"  {name} {version}: {licence}" for name, version, licence in components]
        if folder := licence_texts_folder():
            lines += ["", f"Licence texts: the *.dist-info folders in {folder}"]
        return "\n".join(lines)

    def as_text(self) -> str:
        """Everything shown, as plain text (what Copy puts on the clipboard)."""
        rows = []
        for row in range(self._form.rowCount()):
            label = self._form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget().text()
            value = self._form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget().text()
            rows.append(f"{label}: {value}")
        return "\n".join([f"TuneLab {VERSION}", *rows, "", self.licences.toPlainText()])

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.as_text())
