"""The installer recipes agree with each other and with the app (no build needed: each check reads files)."""

from __future__ import annotations

import configparser
import re
import sys
import tomllib
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
sys.path.insert(0, str(PACKAGING))
sys.path.insert(0, str(PACKAGING / "linux"))

import bundle_filter  # noqa: E402
import render_icons  # noqa: E402
import shlib_report  # noqa: E402


def test_icon_pngs_are_the_sizes_their_names_say() -> None:
    pngs = sorted((ROOT / "resources" / "icons" / "png").glob("tunelab-*.png"))
    assert {int(p.stem.split("-")[1]) for p in pngs} == set(render_icons.PNG_SIZES)
    for png in pngs:
        size = int(png.stem.split("-")[1])
        assert Image.open(png).size == (size, size), png.name
    assert Image.open(ROOT / "resources" / "icons" / "tunelab.ico").info["sizes"] >= {(16, 16), (256, 256)}
    assert Image.open(ROOT / "resources" / "icons" / "tunelab.icns").size == (1024, 1024)


def test_spec_bundles_resources_and_leaves_out_unused_qt_and_triton() -> None:
    spec = (PACKAGING / "tunelab.spec").read_text()
    for needed in (
        '"resources" / "data"',
        '"resources/icons"',
        'copy_metadata("tunelab")',
        '"torch": "pyz+py"',
        'collect_dynamic_libs("torchvision"',
    ):
        assert needed in spec, needed
    for left_out in (
        "QtWebEngineCore",
        "QtQml",
        "QtQuick",
        "Qt3DCore",
        "QtMultimedia",
        "QtDesigner",
        "QtCharts",
        "QtPdf",
        '"triton"',
        "/translations/",
    ):
        assert left_out in spec, left_out
    # ...but never a module the app or pyqtgraph imports.
    for used in ("QtCore", "QtGui", "QtWidgets", "QtSvg", "QtOpenGL", "QtOpenGLWidgets"):
        assert f'"{used}"' not in spec, used


def test_build_only_tools_stay_out_of_the_runtime_and_test_dependencies() -> None:
    assert any(req.startswith("pyinstaller") for req in PYPROJECT["project"]["optional-dependencies"]["build"])
    runtime_and_test = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]
    assert not [req for req in runtime_and_test if req.lower().startswith("pyinstaller")]


def test_desktop_entry_has_the_required_keys() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(PACKAGING / "linux" / "tunelab.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Name"] == "TuneLab"
    assert desktop["Exec"] == "tunelab" and desktop["Icon"] == "tunelab"
    assert desktop["Categories"] == "Development;Science;"


def test_control_template_names_qts_system_libraries() -> None:
    control = (PACKAGING / "linux" / "control.in").read_text()
    depends = shlib_report.depends(PACKAGING / "linux" / "control.in")
    assert {"libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libgl1", "libfontconfig1", "libdbus-1-3"} <= depends
    for field in (
        "Package: tunelab",
        "Version: @VERSION@",
        "Architecture: @ARCH@",
        "Installed-Size: @INSTALLED_SIZE@",
        "Maintainer: ",
        "Section: ",
        "Description: ",
        "libc6 (>= @GLIBC@)",
    ):
        assert field in control, field


def test_deb_layout_in_make_deb() -> None:
    script = (PACKAGING / "linux" / "make_deb.sh").read_text()
    for path in (
        '"$stage/opt/tunelab"',
        'ln -s /opt/tunelab/tunelab "$stage/usr/bin/tunelab"',
        "usr/share/applications/tunelab.desktop",
        "usr/share/icons/hicolor/${size}x${size}/apps/tunelab.png",
        "usr/share/icons/hicolor/scalable/apps/tunelab.svg",
        "--root-owner-group",
    ):
        assert path in script, path
    for name in ("build_linux.sh", "linux/make_deb.sh", "linux/postinst", "linux/postrm", "macos/make_dmg.sh"):
        text = (PACKAGING / name).read_text()
        assert (PACKAGING / name).stat().st_mode & 0o111, f"{name} is not executable"
        assert "set -euo pipefail" in text or "set -e" in text, name
    for name in ("postinst", "postrm"):  # refreshing caches must never fail the install or the removal
        text = (PACKAGING / "linux" / name).read_text()
        assert "|| true" in text and text.rstrip().endswith("exit 0")


def test_windows_and_macos_installers_take_the_version_from_pyproject() -> None:
    iss = (PACKAGING / "windows" / "tunelab.iss").read_text()
    assert "AppVersion={#AppVersion}" in iss and "#error" in iss  # no version, no installer
    assert r"dist\tunelab\*" in iss and "resources\\icons\\tunelab.ico" in iss
    workflows = ROOT / ".github" / "workflows"
    windows = (workflows / "build-windows.yml").read_text()
    assert "pyproject.toml" in windows and "/DAppVersion=" in windows and "tunelab.iss" in windows
    assert "download.pytorch.org/whl/cpu" in windows and "cuda" in windows
    macos = (workflows / "build-macos.yml").read_text()
    assert "packaging/tunelab.spec" in macos and "make_dmg.sh" in macos
    assert "pyproject.toml" in (PACKAGING / "macos" / "make_dmg.sh").read_text()
    linux = (workflows / "build-linux.yml").read_text()
    assert "packaging/build_linux.sh" in linux and "download.pytorch.org/whl/cpu" in linux


def entry(dest: str, source: str, kind: str = "BINARY") -> tuple[str, str, str]:
    return (dest, source, kind)


def test_bundle_filter_takes_the_desktop_stack_from_the_system() -> None:
    links = {
        "/site/PySide6/Qt/plugins/platforms/libqxcb.so": ["libQt6XcbQpa.so.6", "libxcb.so.1"],
        "/site/PySide6/Qt/lib/libQt6XcbQpa.so.6": ["libxcb.so.1", "libz.so.1"],
        "/site/PySide6/Qt/lib/libQt6Network.so.6": ["libkrb5.so.3"],
    }
    binaries = [
        entry("PySide6/Qt/plugins/platforms/libqxcb.so", "/site/PySide6/Qt/plugins/platforms/libqxcb.so"),
        entry("PySide6/Qt/plugins/platforms/libqvnc.so", "/site/PySide6/Qt/plugins/platforms/libqvnc.so"),
        entry("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/site/PySide6/Qt/lib/libQt6XcbQpa.so.6"),
        entry("PySide6/Qt/lib/libQt6Network.so.6", "/site/PySide6/Qt/lib/libQt6Network.so.6"),  # only libqvnc used it
        entry("libxcb.so.1", "/usr/lib/x86_64-linux-gnu/libxcb.so.1"),
        entry("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"),
        entry("libkrb5.so.3", "/usr/lib/x86_64-linux-gnu/libkrb5.so.3"),
        entry("libQt6XcbQpa.so.6", "PySide6/Qt/lib/libQt6XcbQpa.so.6", "SYMLINK"),
        entry("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
    ]
    kept = {e[0] for e in bundle_filter.prune(binaries, lambda source: links.get(source, []))}
    assert kept == {
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "libz.so.1",
        "libQt6XcbQpa.so.6",
    }


def test_gtk_and_its_chain_stay_with_the_system_when_the_build_machine_has_them() -> None:
    """Qt's GTK theme plugin links to GTK 3; on a desktop that has GTK, the bundle must not carry GTK itself (its
    own chain, atk, cairo, pango, Xcomposite, ..., would then be undeclared): the plugin stays, optional."""
    gtk = "/usr/lib/x86_64-linux-gnu/"
    links = {
        "/site/PySide6/Qt/plugins/platformthemes/libqgtk3.so": ["libgtk-3.so.0", "libgdk-3.so.0", "libQt6Gui.so.6"],
        gtk + "libgtk-3.so.0": ["libatk-1.0.so.0", "libcairo.so.2", "libepoxy.so.0", "libXcomposite.so.1"],
        gtk + "libgdk-3.so.0": ["libpango-1.0.so.0", "libepoxy.so.0"],
        gtk + "libepoxy.so.0": [],
    }
    binaries = [
        entry("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/site/PySide6/Qt/plugins/platformthemes/libqgtk3.so"),
        entry("libgtk-3.so.0", gtk + "libgtk-3.so.0"),
        entry("libgdk-3.so.0", gtk + "libgdk-3.so.0"),
        entry("libepoxy.so.0", gtk + "libepoxy.so.0"),
        entry("libatk-1.0.so.0", gtk + "libatk-1.0.so.0"),
    ]
    kept = {e[0] for e in bundle_filter.prune(binaries, lambda source: links.get(source, []))}
    assert kept == {"PySide6/Qt/plugins/platformthemes/libqgtk3.so"}


def test_gtk_is_recommended_not_bundled_by_the_deb() -> None:
    control = (ROOT / "packaging" / "linux" / "control.in").read_text()
    recommends = re.search(r"^Recommends:(.*(?:\n .*)*)", control, re.M)
    assert recommends and "libgtk-3-0" in recommends.group(1)
    workflow = (ROOT / ".github" / "workflows" / "build-linux.yml").read_text()
    assert "libgtk-3-0" in workflow  # the build runs where users' desktops are: with GTK installed


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Depends: libc6 (>= 2.36), libgl1,\n libxcb1 | libxcb1-alt\nRecommends: libwayland-client0\n",
            {"libc6", "libgl1", "libxcb1", "libxcb1-alt"},
        ),
        ("Package: x\nRecommends: a\n", set()),
    ],
)
def test_shlib_report_reads_depends(tmp_path: Path, text: str, expected: set[str]) -> None:
    (tmp_path / "control").write_text(text)
    assert shlib_report.depends(tmp_path / "control") == expected


def test_readme_has_install_and_build_sections() -> None:
    readme = (ROOT / "README.md").read_text()
    install = re.search(r"^## Install\n(.*?)^## ", readme, re.S | re.M)
    build = re.search(r"^## Build installers\n(.*?)(^## |\Z)", readme, re.S | re.M)
    assert install and build
    assert ".deb" in install.group(1) and "setup.exe" in install.group(1) and ".dmg" in install.group(1).lower()
    assert "packaging/build_linux.sh" in build.group(1)
