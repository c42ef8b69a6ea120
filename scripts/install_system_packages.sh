#!/usr/bin/env bash
# Debian packages the test suites need. Safe to run again; skips what is there.
set -euo pipefail
packages=()
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
need curl curl
# PostgreSQL and Redis for the replica, fault and benchmark runs (started by the tests on loopback;
# Debian keeps the PostgreSQL programs in /usr/lib/postgresql/<version>/bin, off PATH).
command -v postgres >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || packages+=(postgresql)
need redis-server redis-server
# Debian's Chromium (and its driver) for the widget's browser tests: Playwright drives /usr/bin/chromium.
need chromium chromium
need chromedriver chromium-driver
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${packages[@]}"
fi
