#!/usr/bin/env bash
# `make run`: the action server and the Rasa server with its HTTP API and channels.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
trap 'stop_web_page; stop_action_server' EXIT INT TERM
start_action_server
start_web_page
# The HTTP API (trackers, /model/parse) is only switched on with a token.
api=()
if [ -n "${RASA_API_TOKEN:-}" ]; then api=(--enable-api --auth-token "$RASA_API_TOKEN"); fi
echo "Rasa server on http://localhost:$RASA_PORT (REST: POST /webhooks/rest/webhook)"
echo "Demo clinic page with the chat widget on http://localhost:$WEB_PORT (widget origins: $WIDGET_ORIGINS)"
read -r -a origins <<<"${WIDGET_ORIGINS//,/ }"
"$RASA" run --model models/footcare.tar.gz --endpoints "$(endpoints_file)" --credentials credentials.yml \
  --port "$RASA_PORT" --cors "${origins[@]}" "${api[@]}" "$@"
