"""Which shared libraries the Linux bundle keeps (used by tunelab.spec).

PyInstaller copies every library the analysis reaches, system ones included. The libraries of the desktop the
app draws on (X11/xcb, xkbcommon, Wayland, fontconfig, freetype, D-Bus, GLib, GTK's stack) must match the
running system's display server, font configuration and D-Bus, so they come from the system instead (the
.deb's Depends names their packages). GTK 3 is only reached through Qt's GTK theme plugin: on a build machine
that has it, GTK stays out too, and the plugin is optional (Recommends: libgtk-3-0; Qt skips it without GTK).
Qt plugins for targets a desktop app never uses are left out, and so is every library that, after that, nothing
in the bundle links to.
"""

from __future__ import annotations

import posixpath
import re
from typing import Callable, Iterable

Entry = tuple  # PyInstaller's TOC entry: (destination name, source path, type code)

SYSTEM_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")
DESKTOP_STACK = re.compile(
    r"^lib(X|xcb|xkbcommon|wayland|fontconfig|freetype|expat|dbus-1|systemd|glib-2|gobject-2|gio-2|gmodule-2|"
    r"gthread-2|atk|cairo|pango|gdk_pixbuf|harfbuzz|pixman|thai|datrie|fribidi|graphite2|png16|jpeg|mount|"
    r"blkid|selinux|pcre2|bsd|md\.|gcrypt|gpg-error|cap\.|lz4|brotli|gtk-3|gdk-3|epoxy|atspi|colord|cups)"
)
# Framebuffer, VNC, embedded EGL and Vulkan-display platforms, and evdev/TUIO input for them.
UNUSED_QT_PLUGINS = re.compile(
    r"plugins/(platforms/lib(qeglfs|qlinuxfb|qvnc|qvkkhrdisplay|qminimalegl)|egldeviceintegrations/|generic/)"
)


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _name(entry: Entry) -> str:
    return posixpath.basename(_posix(entry[0]))


def _link_time_only(entry: Entry) -> bool:
    """Loaded only because another library links to it: system libraries and Qt's own (plugins are dlopened)."""
    return _posix(entry[1]).startswith(SYSTEM_DIRS) or "/Qt/lib/" in _posix(entry[1])


def prune(binaries: Iterable[Entry], needed: Callable[[str], Iterable[str]]) -> list[Entry]:
    """The entries to keep. `needed(source)` gives the library names a file links to."""
    entries = [e for e in binaries if not UNUSED_QT_PLUGINS.search(_posix(e[0]))]
    files = [e for e in entries if e[2] != "SYMLINK"]
    on_demand = {
        _name(e): e
        for e in files
        if _link_time_only(e) and not (_posix(e[1]).startswith(SYSTEM_DIRS) and DESKTOP_STACK.match(_name(e)))
    }
    kept = [e for e in files if not _link_time_only(e)]
    reached: set[str] = set()
    todo = [e[1] for e in kept]
    while todo:
        for name in needed(todo.pop()):
            if name in on_demand and name not in reached:
                reached.add(name)
                todo.append(on_demand[name][1])
    kept += [on_demand[name] for name in sorted(reached)]
    return kept + without_dangling_links([e for e in entries if e[2] == "SYMLINK"], kept)


def without_dangling_links(toc: Iterable[Entry], collected: Iterable[Entry]) -> list[Entry]:
    """`toc` less its symlinks whose target is not among the files in `collected`."""
    destinations = {_posix(e[0]) for e in collected if e[2] != "SYMLINK"}
    return [e for e in toc if e[2] != "SYMLINK" or _link_target(e) in destinations]


def _link_target(link: Entry) -> str:
    """A SYMLINK entry's source is its target, relative to the link's folder."""
    dest = _posix(link[0])
    return posixpath.normpath(posixpath.join(posixpath.dirname(dest), _posix(link[1])))
