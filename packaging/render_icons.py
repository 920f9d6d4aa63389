"""Render the application icon from its SVG source: PNGs for the Linux icon theme, an .ico for Windows and
an .icns for macOS, all under resources/icons/ (committed; run this again after editing tunelab.svg).

    .venv/bin/python packaging/render_icons.py
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "tunelab.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZE = 1024  # Pillow scales the .icns members down from it


def png_path(size: int) -> Path:
    return ICONS / "png" / f"tunelab-{size}.png"


def render(size: int) -> bytes:
    """The SVG drawn into a transparent size x size PNG by Qt's SVG renderer."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QPainter needs one
    png_path(0).parent.mkdir(parents=True, exist_ok=True)
    for size in PNG_SIZES:
        png_path(size).write_bytes(render(size))
        print(png_path(size).relative_to(ROOT))
    ico_images = [Image.open(io.BytesIO(render(s))) for s in ICO_SIZES]
    ico_images[-1].save(ICONS / "tunelab.ico", sizes=[(s, s) for s in ICO_SIZES], append_images=ico_images[:-1])
    Image.open(io.BytesIO(render(ICNS_SIZE))).save(ICONS / "tunelab.icns")
    print((ICONS / "tunelab.ico").relative_to(ROOT), (ICONS / "tunelab.icns").relative_to(ROOT), sep="\n")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
