#!/usr/bin/env bash
# `make shell`: chat with the assistant in the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
trap stop_action_server EXIT INT TERM
start_action_server
if [ "${VERBOSE:-0}" != 0 ]; then
  # `make shell-debug` / `make shell VERBOSE=1`: also prints what the bot understood (workbench/debug_shell.py).
  .venv/bin/python -m workbench.debug_shell --model models/footcare.tar.gz --endpoints "$(endpoints_file)" "$@"
else
  "${RASA[@]}" shell --model models/footcare.tar.gz --endpoints "$(endpoints_file)" --port "$RASA_PORT" "$@"
fi
