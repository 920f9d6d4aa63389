"""What a frozen bundle needs from the system it is installed on, for the .deb's control file.

    python3 packaging/linux/shlib_report.py glibc BUNDLE          the lowest glibc it runs on, e.g. 2.36
    python3 packaging/linux/shlib_report.py check BUNDLE CONTROL  every system library it links to is declared

`check` finds each library the bundle links to but does not ship, the package that holds it here (ldconfig,
dpkg -S), and fails unless that package is in Depends. Libraries that only optional Qt plugins link to (the
GTK theme, Wayland: Recommends) are listed but not required: Qt skips a plugin it cannot load.
Standard library only, plus readelf (binutils, which PyInstaller needs too), so the system python3 runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

# Loaded only when present: Qt picks another platform or theme without them; libcaffe2_nvrtc needs the driver.
OPTIONAL = re.compile(r"(platformthemes/|wayland-|libqwayland|libQt6Wayland|libQt6WlShell|libcaffe2_nvrtc)")
PROVIDED_BY_LOADER = ("ld-linux",)


def elf_files(bundle: Path) -> list[Path]:
    found = []
    for folder, _dirs, names in os.walk(bundle):
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink() and path.is_file():
                with path.open("rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        found.append(path)
    return found


def readelf(*args: str) -> str:
    return subprocess.run(["readelf", "--wide", *args], capture_output=True, text=True, check=False).stdout


def glibc_floor(files: list[Path]) -> str:
    versions = {v for f in files for v in re.findall(r"Name: GLIBC_([0-9.]+)", readelf("-V", str(f)))}
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")), default="2.17")


def missing_libraries(bundle: Path, files: list[Path]) -> dict[str, set[str]]:
    """Library name -> the bundled files that link to it, for libraries the bundle does not ship."""
    shipped = {name for _folder, _dirs, names in os.walk(bundle) for name in names}
    users: dict[str, set[str]] = defaultdict(set)
    for f in files:
        for name in re.findall(r"\(NEEDED\).*\[(.+)\]", readelf("-d", str(f))):
            if name not in shipped and not name.startswith(PROVIDED_BY_LOADER):
                users[name].add(str(f.relative_to(bundle)))
    return users


def owning_package(library: str, cache: str) -> str | None:
    match = re.search(rf"^\s*{re.escape(library)} \([^)]*x86-64[^)]*\) => (\S+)$", cache, re.M) or re.search(
        rf"^\s*{re.escape(library)} \([^)]*\) => (\S+)$", cache, re.M
    )
    if not match:
        return None
    path = match.group(1)
    for candidate in (path, os.path.realpath(path), "/usr" + path if not path.startswith("/usr/") else path[4:]):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False).stdout
        if out:
            return out.split(":")[0].strip()
    return None


def depends(control: Path) -> set[str]:
    """Package names in the Depends field (versions and alternatives flattened)."""
    field = re.search(r"^Depends:(.*(?:\n .*)*)", control.read_text(), re.M)
    names = (re.sub(r"\(.*?\)|:any", "", alt).strip() for alt in re.split(r"[,|]", field.group(1) if field else ""))
    return {name for name in names if name}


def check(bundle: Path, control: Path) -> int:
    files = elf_files(bundle)
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    required = depends(control)
    problems = 0
    for library, users in sorted(missing_libraries(bundle, files).items()):
        optional = all(OPTIONAL.search(u) for u in users)
        package = owning_package(library, cache)
        ok = optional or package in required
        problems += not ok
        print(
            f"{'ok ' if ok else 'MISSING'} {library:28s} {package or 'not installed here':24s}"
            f"{' (optional)' if optional else ''}  <- {sorted(users)[0]}{' …' if len(users) > 1 else ''}"
        )
    print(f"{problems} undeclared system libraries" if problems else "every system library is declared")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "glibc":
        print(glibc_floor(elf_files(Path(argv[1]))))
        return 0
    if len(argv) == 3 and argv[0] == "check":
        return check(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
