#!/usr/bin/env bash
# Sets up and runs the test suite (real mosquitto on free loopback ports, real SQLite, ptys).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy
exec .venv/bin/python -m pytest "$@"
