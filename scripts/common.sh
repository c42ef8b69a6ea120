# Shared helpers for shell.sh and run.sh (sourced, not executed).
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
RASA=.venv/bin/rasa
export PYTHONPATH=${PYTHONPATH:-$PWD}
export RASA_TELEMETRY_ENABLED=false
export SQLALCHEMY_SILENCE_UBER_WARNING=1

# start_action_server: runs the action server in the background and waits until it answers.
start_action_server() {
  mkdir -p logs
  "$RASA" run actions --actions actions --port "$ACTION_PORT" >logs/action-server.log 2>&1 &
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

# endpoints_file: endpoints.yml, with the action server URL pointed at $ACTION_PORT when it is not 5055.
endpoints_file() {
  if [ "$ACTION_PORT" = 5055 ]; then echo endpoints.yml; return; fi
  mkdir -p build
  sed "s#http://localhost:5055/webhook#http://localhost:$ACTION_PORT/webhook#" endpoints.yml >build/endpoints.local.yml
  echo build/endpoints.local.yml
}
