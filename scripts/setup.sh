#!/usr/bin/env bash
# Idempotent setup: Debian packages (when root), a venv in .venv, the project installed into it.
# Used by both README commands, so a fresh machine needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(mosquitto mosquitto-clients espeak-ng libzbar0 fonts-dejavu-core sox
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
  .venv/bin/pip install -q --disable-pip-version-check -e ".[test,reports]"
  touch "$stamp"
fi
