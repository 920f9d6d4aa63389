"""Before the window opens on X11: are the system libraries Qt's xcb platform plugin needs installed?

Without them Qt aborts with "Could not load the Qt platform plugin xcb" and a list of plugins, naming none of
what is missing (it even suggests libxcb-cursor0 when that is present). A pip install brings Qt but not these
system libraries (the .deb declares them: packaging/linux/control.in), so `tunelab` checks first and says in
one line which are missing and the apt command that installs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

# What the pip path needs from the system on Debian/Ubuntu: the .deb's Depends (packaging/linux/control.in).
SYSTEM_PACKAGES = (
    "libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libx11-6 libx11-xcb1 libxcb1 "
    "libxcb-cursor0 libxcb-glx0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 "
    "libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 "
    "libxkbcommon0 libxkbcommon-x11-0"
).split()
# Library files whose Debian package name does not follow from the file name.
_PACKAGE_OF = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0"}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)

Ldd = Callable[[Path], str]  # the output of `ldd PATH`


def uses_xcb(environ: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Whether Qt will pick its xcb (X11) platform plugin here."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path | None:
    """Qt's xcb platform plugin as installed with PySide6 (or in a bundle), if there is one."""
    from PySide6.QtCore import QLibraryInfo  # QtCore loads without a display

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def run_ldd(path: Path) -> str:
    if shutil.which("ldd") is None:
        return ""  # cannot tell: let Qt try
    done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout


def missing_libraries(plugin: Path, ldd: Ldd = run_ldd) -> list[str]:
    """The library files the plugin (or a library it loads) needs and the system lacks, each once, in order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd(plugin))))


def debian_package(library: str) -> str:
    """The Debian/Ubuntu package that holds a library file: libxcb-icccm.so.4 → libxcb-icccm4."""
    if library in _PACKAGE_OF:
        return _PACKAGE_OF[library]
    name, _, version = library.partition(".so.")
    name = name.lower()
    major = version.split(".")[0]
    return f"{name}-{major}" if name[-1:].isdigit() else f"{name}{major}"


def missing_message(missing: list[str]) -> str:
    """One line: what is missing and the command that installs it."""
    packages = " ".join(dict.fromkeys(debian_package(m) for m in missing))
    return (
        f"tunelab: the window cannot open: Qt's X11 (xcb) platform needs {', '.join(missing)}, which "
        f"{'is' if len(missing) == 1 else 'are'} not installed. On Debian/Ubuntu: sudo apt-get install {packages}"
    )


def xcb_problem(ldd: Ldd = run_ldd, environ: dict[str, str] | None = None, plugin: Path | None = None) -> str:
    """The line to print instead of letting Qt abort, or "" when the window can open (or we cannot tell)."""
    if not uses_xcb(environ):
        return ""
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return ""
    missing = missing_libraries(plugin, ldd)
    return missing_message(missing) if missing else ""
