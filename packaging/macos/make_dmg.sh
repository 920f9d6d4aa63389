#!/usr/bin/env bash
# Wrap dist/TuneLab.app (packaging/tunelab.spec on macOS) in a compressed disk image with a link to
# /Applications: dist/TuneLab-VERSION-macos-ARCH.dmg. Prints its path. Needs macOS (hdiutil).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d dist/TuneLab.app ] || { echo "make_dmg.sh: no dist/TuneLab.app: run pyinstaller packaging/tunelab.spec first" >&2; exit 2; }
command -v hdiutil >/dev/null || { echo "make_dmg.sh: needs hdiutil (macOS)" >&2; exit 2; }
version="$("${PYTHON:-python3}" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
dmg="dist/TuneLab-${version}-macos-$(uname -m).dmg"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
ditto dist/TuneLab.app "$stage/TuneLab.app"
ln -s /Applications "$stage/Applications"
hdiutil create -volname "TuneLab $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg" >&2
echo "$dmg"
