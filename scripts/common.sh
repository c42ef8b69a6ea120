# Shared helpers for shell.sh and run.sh (sourced, not executed).
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
# Rasa's command line with footcare_server's changes installed first (footcare_server/runtime.py).
RASA=(.venv/bin/python -m footcare_server)
PY=.venv/bin/python
export RASA_TELEMETRY_ENABLED=false
export SQLALCHEMY_SILENCE_UBER_WARNING=1

# start_action_server: runs the action server in the background and waits until it answers.
start_action_server() {
  mkdir -p logs
  "$PY" -m actions --port "$ACTION_PORT" >logs/action-server.log 2>&1 &
  ACTION_PID=$!
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$ACTION_PORT/health" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$ACTION_PID" 2>/dev/null; then
      echo "The action server stopped; see logs/action-server.log" >&2; tail -n 20 logs/action-server.log >&2; return 1
    fi
    sleep 0.5
  done
  echo "The action server did not answer on port $ACTION_PORT within 60 s" >&2
  return 1
}

stop_action_server() {
  [ -n "${ACTION_PID:-}" ] && kill "$ACTION_PID" 2>/dev/null && wait "$ACTION_PID" 2>/dev/null
  return 0
}

# The widget: the demo clinic page on $WEB_PORT, and the sites whose pages may open the widget
# (the Rasa server's CORS origins too). A clinic sets WIDGET_ORIGINS to its own site(s).
WEB_PORT=${WEB_PORT:-8080}
export WIDGET_ORIGINS=${WIDGET_ORIGINS:-"http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT"}

start_web_page() {
  mkdir -p logs
  .venv/bin/python web/serve.py --port "$WEB_PORT" --rasa-url "http://localhost:$RASA_PORT" >logs/web.log 2>&1 &
  WEB_PID=$!
}

stop_web_page() {
  [ -n "${WEB_PID:-}" ] && kill "$WEB_PID" 2>/dev/null && wait "$WEB_PID" 2>/dev/null
  return 0
}

# The endpoints profile: endpoints.yml (SQLite, one machine) unless FOOTCARE_ENDPOINTS names another,
# e.g. endpoints.production.yml (PostgreSQL + Redis). Defaults for the variables that file reads;
# DB_HOST and REDIS_HOST have none (Rasa names any variable that is still unset).
FOOTCARE_ENDPOINTS=${FOOTCARE_ENDPOINTS:-endpoints.yml}
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://localhost:$ACTION_PORT/webhook}
export DB_PORT=${DB_PORT:-5432} DB_NAME=${DB_NAME:-footcare} DB_USER=${DB_USER:-footcare} DB_PASSWORD=${DB_PASSWORD:-}
export REDIS_PORT=${REDIS_PORT:-6379} REDIS_DB=${REDIS_DB:-1} REDIS_PASSWORD=${REDIS_PASSWORD:-}

# endpoints_file: the profile; endpoints.yml gets the action server URL pointed at $ACTION_PORT when it is not 5055.
endpoints_file() {
  if [ "$FOOTCARE_ENDPOINTS" != endpoints.yml ]; then echo "$FOOTCARE_ENDPOINTS"; return; fi
  if [ "$ACTION_PORT" = 5055 ]; then echo endpoints.yml; return; fi
  mkdir -p build
  sed "s#http://localhost:5055/webhook#http://localhost:$ACTION_PORT/webhook#" endpoints.yml >build/endpoints.local.yml
  echo build/endpoints.local.yml
}
