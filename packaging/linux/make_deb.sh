#!/usr/bin/env bash
# Package a frozen bundle (packaging/tunelab.spec's dist/tunelab) as a .deb with plain dpkg-deb:
# the app in /opt/tunelab, /usr/bin/tunelab linking to it, a menu entry and icons in the hicolor theme.
#   packaging/linux/make_deb.sh dist/tunelab dist        prints the .deb's path
# A bundle with CUDA's torch is named tunelab-cuda_VERSION_ARCH.deb (the package is `tunelab` either way).
set -euo pipefail
usage="usage: packaging/linux/make_deb.sh BUNDLE_DIR OUT_DIR"
bundle="$(realpath "${1:?$usage}")"
out="$(mkdir -p "${2:?$usage}" && realpath "$2")"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -x "$bundle/tunelab" ] || {
    echo "make_deb.sh: no $bundle/tunelab: build the bundle first (packaging/build_linux.sh)" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "make_deb.sh: needs dpkg-deb (Debian's dpkg package)" >&2; exit 2; }

# the bundle's own answer: build_linux.sh already checked it against pyproject.toml, and it needs no
# particular Python on the build machine
version="$("$bundle/tunelab" --version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
if compgen -G "$bundle/_internal/torch/lib/libtorch_cuda.*" >/dev/null; then
    variant="CUDA build"; deb="$out/tunelab-cuda_${version}_${arch}.deb"
else
    variant="CPU-only build"; deb="$out/tunelab_${version}_${arch}.deb"
fi

stage="$out/deb-root"
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" "$stage/usr/share/doc/tunelab"
# Hard links when dist/ and the stage share a file system: the payload is gigabytes.
if ! cp -al "$bundle" "$stage/opt/tunelab" 2>/dev/null; then
    rm -rf "$stage/opt/tunelab"; cp -a "$bundle" "$stage/opt/tunelab"
fi
ln -s /opt/tunelab/tunelab "$stage/usr/bin/tunelab"
install -m 644 "$here/tunelab.desktop" "$stage/usr/share/applications/tunelab.desktop"
for png in "$root"/resources/icons/png/tunelab-*.png; do
    size="$(basename "$png" .png)"; size="${size#tunelab-}"
    install -D -m 644 "$png" "$stage/usr/share/icons/hicolor/${size}x${size}/apps/tunelab.png"
done
install -D -m 644 "$root/resources/icons/tunelab.svg" "$stage/usr/share/icons/hicolor/scalable/apps/tunelab.svg"
install -m 644 "$here/copyright" "$stage/usr/share/doc/tunelab/copyright"
install -m 755 "$here/postinst" "$here/postrm" "$stage/DEBIAN/"

installed_size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
py="${PYTHON:-python3}"
glibc="$("$py" "$here/shlib_report.py" glibc "$stage/opt/tunelab")"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@GLIBC@/$glibc/" -e "s/@TORCH_VARIANT@/$variant/" "$here/control.in" > "$stage/DEBIAN/control"
"$py" "$here/shlib_report.py" check "$stage/opt/tunelab" "$stage/DEBIAN/control" >&2 || {
    echo "make_deb.sh: the bundle links to system libraries that packaging/linux/control.in does not name" >&2
    exit 1; }

# zstd at a low level on all cores: most of the payload is CUDA and torch libraries that compress little further.
dpkg-deb --root-owner-group -Zzstd -z3 --threads-max="$(nproc)" --build "$stage" "$deb" >&2
echo "$deb"
