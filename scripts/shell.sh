#!/usr/bin/env bash
# `make shell`: chat with the assistant in the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
trap stop_action_server EXIT INT TERM
start_action_server
"$RASA" shell --model models/footcare.tar.gz --endpoints "$(endpoints_file)" --port "$RASA_PORT" "$@"
