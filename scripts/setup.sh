#!/usr/bin/env bash
# Idempotent setup: Debian packages (when root), a venv in .venv, the project installed into it.
# Used by both README commands, so a fresh machine needs nothing else.
#   scripts/setup.sh                    online: Debian packages from the mirror, wheels from PyPI
#   scripts/setup.sh --offline BUNDLE   from an archive made by scripts/bundle.sh, no network
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--offline" ]; then
  [ -n "${2:-}" ] || { echo "setup: --offline needs the bundle (a .tar or its motcua-offline folder)" >&2; exit 2; }
  . scripts/packages.sh
  BUNDLE=$2
  if [ -f "$BUNDLE" ]; then
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    tar -xf "$BUNDLE" -C "$tmp" motcua-offline
    BUNDLE=$tmp/motcua-offline
  fi
  [ -f "$BUNDLE/MANIFEST" ] || { echo "setup: $BUNDLE is not a motcua offline bundle (no MANIFEST)" >&2; exit 2; }
  (cd "$BUNDLE" && sha256sum --quiet -c SHA256SUMS) || { echo "setup: the bundle is damaged (checksums differ)" >&2; exit 1; }
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages from the bundle" >&2
    install_offline_debs "$BUNDLE"
  fi
  arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
  extras=$(IFS=,; echo "${OFFLINE_EXTRAS[*]}")
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "setup: installing motcua $version and its dependencies from the bundle" >&2
  .venv/bin/pip install -q --no-index --disable-pip-version-check \
    --find-links "$BUNDLE/wheels/any" --find-links "$BUNDLE/wheels/$arch" --find-links "$BUNDLE/wheels/src" \
    "motcua[$extras]==$version"
  echo "setup: done; motcua is .venv/bin/motcua" >&2
  exit 0
fi

DEB_PKGS=(mosquitto mosquitto-clients espeak-ng libzbar0 fonts-dejavu-core sox
  postgresql  # the central store's tests (tests/pg.py: a throwaway cluster)
  chromium  # the web pages' browser tests (Playwright drives it; no browser download)
  ffmpeg  # camera recording and clips (scanner/camera/recorder.py)
  gir1.2-gst-rtsp-server-1.0 python3-gst-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly  # tests: an RTSP test camera
)
missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packaged broker must not hold port 1883 or run as a service we do not manage.
    if command -v systemctl >/dev/null && systemctl is-active -q mosquitto 2>/dev/null; then
      systemctl disable --now mosquitto >/dev/null 2>&1 || true
    fi
  else
    echo "setup: please install these Debian packages first (as root): ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.motcua-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[test,reports,central]"
  touch "$stamp"
fi
