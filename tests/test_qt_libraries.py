"""`tunelab` on a Linux desktop missing libraries Qt's xcb plugin needs: one line naming them and the apt
command, instead of Qt's abort; the README lists the same packages as the .deb."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import launch, qt_libraries
from app.qt_libraries import SYSTEM_PACKAGES, debian_package, missing_libraries, uses_xcb, xcb_problem

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = Path("/opt/qt/plugins/platforms/libqxcb.so")
# `ldd libqxcb.so` on a minimal Debian 12 after `pip install -e .`
LDD_MINIMAL = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f)
"""
X11 = {"DISPLAY": ":0"}


def test_the_missing_libraries_and_the_apt_command_in_one_line() -> None:
    line = xcb_problem(ldd=lambda _p: LDD_MINIMAL, environ=X11, plugin=PLUGIN)
    assert "\n" not in line
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in line
    assert line.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    assert "cursor" not in line  # present, so never named (Qt's own message names it)


def test_nothing_to_say_when_everything_is_there_or_qt_does_not_use_xcb() -> None:
    complete = LDD_MINIMAL.replace("not found", "/lib/x.so")
    assert xcb_problem(ldd=lambda _p: complete, environ=X11, plugin=PLUGIN) == ""
    for env in ({"QT_QPA_PLATFORM": "offscreen"}, {"WAYLAND_DISPLAY": "wayland-0"}):
        assert xcb_problem(ldd=lambda _p: LDD_MINIMAL, environ=env, plugin=PLUGIN) == ""
    assert xcb_problem(ldd=lambda _p: "", environ=X11, plugin=PLUGIN) == ""  # no ldd: let Qt try
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb:nomitshm"}) and not uses_xcb(X11, platform="darwin")


def test_missing_libraries_are_listed_once_in_order() -> None:
    assert missing_libraries(PLUGIN, lambda _p: LDD_MINIMAL) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


@pytest.mark.parametrize(
    "library, package",
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libEGL.so.1", "libegl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
    ],
)
def test_library_files_map_to_their_debian_packages(library: str, package: str) -> None:
    assert debian_package(library) == package
    assert package in SYSTEM_PACKAGES


def test_the_readme_and_the_checker_list_the_debs_depends() -> None:
    control = (ROOT / "packaging" / "linux" / "control.in").read_text()
    depends = re.search(r"^Depends:(.*?)^\S", control, re.S | re.M).group(1)
    declared = [re.sub(r"\s*\(.*\)", "", d).strip() for d in depends.replace("\n", " ").split(",")]
    declared = [d for d in declared if d and d != "libc6"]
    assert list(SYSTEM_PACKAGES) == declared
    readme = (ROOT / "README.md").read_text().replace("\\\n", " ")
    command = re.search(r"sudo apt-get install (lib[^`]*?)\n", readme).group(1).split()
    assert command == declared


def test_run_gui_prints_the_line_and_exits_before_making_the_application(monkeypatch, capsys) -> None:
    monkeypatch.setattr(qt_libraries, "xcb_problem", lambda: "tunelab: the window cannot open: …")
    monkeypatch.setattr(launch, "make_application", lambda: pytest.fail("QApplication made anyway"))
    assert launch.run_gui() == 1
    assert capsys.readouterr().err == "tunelab: the window cannot open: …\n"
