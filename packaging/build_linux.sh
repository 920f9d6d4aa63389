#!/usr/bin/env bash
# Build the Linux installer from a checkout: the frozen app (dist/tunelab/) and a .deb (dist/*.deb).
#   packaging/build_linux.sh                            makes .venv-build with TuneLab and PyInstaller in it
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu packaging/build_linux.sh
#                                                       ...with torch and torchvision from that index first
#   PYTHON=.venv/bin/python packaging/build_linux.sh    or uses a Python that has `pip install -e '.[build]'`
# The torch installed decides the variant: CPU-only wheels give tunelab_VERSION_ARCH.deb, CUDA ones
# tunelab-cuda_VERSION_ARCH.deb. Prints the .deb's path and size last.
set -euo pipefail
case "${PYTHON:-}" in  # a relative PYTHON path means relative to where the script was started
    */*) PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")" ;;
esac
cd "$(dirname "$0")/.."
start=$SECONDS

need() { command -v "$1" >/dev/null || { echo "build_linux.sh: needs $1 ($2)" >&2; exit 2; }; }
need python3 "Python 3.11 or newer"
need dpkg-deb "Debian's dpkg"
need objdump "binutils: PyInstaller reads shared libraries with it"
need readelf "binutils"

if [ -z "${PYTHON:-}" ]; then
    [ -x .venv-build/bin/python ] || python3 -m venv .venv-build
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        echo "build_linux.sh: installing torch and torchvision from $TORCH_INDEX_URL" >&2
        .venv-build/bin/pip install --quiet torch torchvision --index-url "$TORCH_INDEX_URL"
    fi
    echo "build_linux.sh: installing TuneLab and PyInstaller into .venv-build" >&2
    .venv-build/bin/pip install --quiet -e '.[build]'
    PYTHON=.venv-build/bin/python
fi
export PYTHON  # make_deb.sh runs its helper with it
"$PYTHON" -c 'import PyInstaller' 2>/dev/null || {
    echo "build_linux.sh: $PYTHON has no PyInstaller: pip install -e '.[build]'" >&2; exit 2; }
env_done=$SECONDS

"$PYTHON" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/tunelab.spec
bundle_done=$SECONDS

version="$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
reported="$(dist/tunelab/tunelab --version)"
[ "$reported" = "tunelab $version" ] || {
    echo "build_linux.sh: the bundle says '$reported', pyproject.toml says $version" >&2; exit 1; }

deb="$(packaging/linux/make_deb.sh dist/tunelab dist)"
end=$SECONDS

echo "environment $((env_done - start)) s, PyInstaller $((bundle_done - env_done)) s, .deb $((end - bundle_done)) s," \
     "total $((end - start)) s; bundle $(du -sh dist/tunelab | cut -f1)" \
     "(Installed-Size $(dpkg-deb --field "$deb" Installed-Size) KiB)"
echo "$deb $(du -h "$deb" | cut -f1)"
