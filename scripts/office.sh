#!/usr/bin/env bash
# Sets up and runs a whole simulated office: embedded broker, engine, every virtual device,
# simulated citizens and clerks, a live terminal view. Pictures go to ./sim-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/motcua run "${1:-config/examples/ward.toml}" --simulate --data "${MOTCUA_DATA:-var/office}" "${@:2}"
