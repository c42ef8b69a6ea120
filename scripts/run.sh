#!/usr/bin/env bash
# `make run`: the action server and the Rasa server with its HTTP API and channels.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
trap 'stop_web_page; stop_action_server' EXIT INT TERM
start_action_server
start_web_page
# Replicas must share the widget's session secret, or a visitor's session ends on another replica.
if [ "$FOOTCARE_ENDPOINTS" != endpoints.yml ] && [ -z "${WIDGET_SESSION_SECRET:-}" ]; then
  echo "warning: WIDGET_SESSION_SECRET is not set; each machine makes its own (see docs/security.md)" >&2
fi
# The HTTP API (trackers, /model/parse) is only switched on with a token; it takes the token in
# the query string, so keep it off the public proxy (docs/security.md).
api=()
if [ -n "${RASA_API_TOKEN:-}" ]; then api=(--enable-api --auth-token "$RASA_API_TOKEN"); fi
echo "Rasa server on http://localhost:$RASA_PORT (REST: POST /webhooks/rest/webhook, from this machine${REST_TOKEN:+ or with the REST_TOKEN bearer})"
echo "Demo clinic page with the chat widget on http://localhost:$WEB_PORT (widget origins: $WIDGET_ORIGINS)"
read -r -a origins <<<"${WIDGET_ORIGINS//,/ }"
"${RASA[@]}" run --model models/footcare.tar.gz --endpoints "$(endpoints_file)" --credentials credentials.yml \
  --port "$RASA_PORT" --cors "${origins[@]}" "${api[@]}" "$@"
