#!/usr/bin/env bash
# Make one archive with everything an office needs to install without Internet:
#   the project's source and wheel, every dependency's wheel for each target architecture,
#   source archives (and the compiler packages to build them) where PyPI has no wheel,
#   and the Debian packages the setup installs, as a local apt repository per architecture.
#
#   scripts/bundle.sh [--arch amd64,arm64] [--python 3.11] [--out DIR]
#
# Then, on the office box (no network needed):
#   tar -xf motcua-offline-VERSION.tar -C /opt && /opt/motcua/scripts/setup.sh --offline /opt/motcua-offline
# Needs network here (PyPI and Debian's mirror); run as root for the Debian part.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ARCHES=amd64,arm64
PYVER=3.11
OUT=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCHES=$2; shift 2 ;;
    --python) PYVER=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bundle: unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/packages.sh
. scripts/packages.sh
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
NAME=motcua-offline-$VERSION
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/$NAME
mkdir -p "$STAGE"/{wheels/any,wheels/src,debs} "$OUT"
PIP=(python3 -m pip --disable-pip-version-check -q)
[ -x .venv/bin/python ] && PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
EXTRAS=$(IFS=,; echo "${OFFLINE_EXTRAS[*]}")

echo "bundle: the project's source and wheel" >&2
git archive --format=tar --prefix=motcua/ HEAD | tar -x -C "$WORK"
"${PIP[@]}" wheel --no-deps -w "$STAGE/wheels/any" "$WORK/motcua" >/dev/null
WHEEL=$(ls "$STAGE"/wheels/any/motcua-*.whl)

echo "bundle: resolving the dependencies" >&2
# Resolve once, on this machine, to exact versions; then fetch each one for every target.
"${PIP[@]}" download -d "$WORK/host" "${WHEEL}[${EXTRAS}]" setuptools wheel >/dev/null
pins=()
for f in "$WORK"/host/*; do
  base=$(basename "$f")
  case "$base" in
    motcua-*) continue ;;
    *.whl)
      IFS=- read -r dist ver _ <<<"$base"
      tag=${base%.whl}; plat=${tag##*-}
      if [ "$plat" = any ]; then cp "$f" "$STAGE/wheels/any/"; else pins+=("$dist==$ver"); fi ;;
    *.tar.gz|*.zip)
      # A source archive: pure Python becomes a universal wheel now; C code is built on the box.
      if "${PIP[@]}" wheel --no-deps -w "$WORK/built" "$f" >/dev/null 2>&1 \
         && ls "$WORK"/built/*-none-any.whl >/dev/null 2>&1; then
        mv "$WORK"/built/*-none-any.whl "$STAGE/wheels/any/"
      else
        cp "$f" "$STAGE/wheels/src/"
      fi
      rm -rf "$WORK/built" ;;
  esac
done

IFS=, read -ra arches <<<"$ARCHES"
for arch in "${arches[@]}"; do
  case "$arch" in
    amd64) plats=(manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64 linux_x86_64) ;;
    arm64) plats=(manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_28_aarch64 linux_aarch64) ;;
    *) echo "bundle: unknown architecture $arch (amd64 or arm64)" >&2; exit 2 ;;
  esac
  mkdir -p "$STAGE/wheels/$arch"
  pflags=(); for p in "${plats[@]}"; do pflags+=(--platform "$p"); done
  echo "bundle: $arch wheels (${#pins[@]} with compiled code)" >&2
  for pin in "${pins[@]}"; do
    "${PIP[@]}" download --no-deps --only-binary=:all: "${pflags[@]}" --python-version "$PYVER" \
      --implementation cp -d "$STAGE/wheels/$arch" "$pin" >/dev/null
  done
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bundle: $arch Debian packages" >&2
    bundle_debs "$arch" "$STAGE/debs/$arch" "$WORK/apt-$arch"
  else
    echo "bundle: not root: no Debian packages for $arch (the box must have them)" >&2
  fi
done

cat >"$STAGE/MANIFEST" <<EOF
motcua $VERSION offline bundle, made $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD)
python $PYVER; architectures: $ARCHES; extras: $EXTRAS
debian packages: ${OFFICE_DEBS[*]}
EOF
(cd "$STAGE" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
mv "$WORK/motcua" "$WORK/motcua-src" && mkdir -p "$WORK/tarroot" && mv "$WORK/motcua-src" "$WORK/tarroot/motcua"
mv "$STAGE" "$WORK/tarroot/motcua-offline"
tar -cf "$OUT/$NAME.tar" -C "$WORK/tarroot" motcua motcua-offline
echo "bundle: wrote $OUT/$NAME.tar ($(du -h "$OUT/$NAME.tar" | cut -f1))" >&2
