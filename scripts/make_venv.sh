#!/usr/bin/env bash
# Creates the virtual environment on Python 3.10 (Rasa 3.6 does not run on 3.11+).
set -euo pipefail
venv=${1:-.venv}
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  exit 0
fi
candidates=$(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V | tail -n 1 || true)
for py in $candidates "$(command -v python3.10 || true)"; do
  if [ -n "$py" ] && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "Creating $venv with $py"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade "pip==24.0"
    exit 0
  fi
done
echo "error: Python 3.10 was not found. Rasa 3.6 needs Python 3.10 (it refuses 3.11+)." >&2
echo "Install it (for example 'pyenv install 3.10.13') or put python3.10 on PATH, then run 'make install' again." >&2
exit 1
