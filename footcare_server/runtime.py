"""The one place that changes Rasa: `install()`.

Each change below replaces a piece of Rasa 3.6 (a module constant, a method, a
class a module looks up by name) and is written against that line's code, so
`install()` refuses any other Rasa version before changing anything. It is
idempotent: the second call does nothing.

Who calls it:
- `python -m footcare_server <rasa arguments>` (footcare_server/__main__.py),
  the way every command of the Makefile, the test servers and the benchmark
  start Rasa;
- the modules that Rasa's own commands, typed directly (`rasa run`,
  `rasa shell`, a design contract), load by name from credentials.yml and the
  endpoints files: channels/__init__.py and footcare_server/stores.py. So a
  plain `rasa run` is the same server as `python -m footcare_server run`.
"""
from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6."

_lock = threading.Lock()
_installed = False


class UnsupportedRasa(RuntimeError):
    """The installed Rasa is not the line footcare_server's changes are written against."""


def check_rasa_version(version: str | None = None) -> str:
    """The installed Rasa's version; raises `UnsupportedRasa` unless it is 3.6.x."""
    if version is None:
        import rasa

        version = rasa.__version__
    if not version.startswith(SUPPORTED_RASA):
        raise UnsupportedRasa(
            f"footcare_server changes Rasa {SUPPORTED_RASA}x internals (footcare_server/runtime.py), "
            f"but Rasa {version} is installed: install the pinned versions (`make install`), or check "
            f"each change in footcare_server/ against the new Rasa before allowing it here."
        )
    return version


def install() -> None:
    """Checks the Rasa version, then installs every change to Rasa (once)."""
    global _installed
    if _installed:
        return
    version = check_rasa_version()
    # (importing stores calls install() too, which then does the work: the lock is not held yet)
    from footcare_server import access_log, action_fallback, action_timeout, speedups, stores

    with _lock:
        if _installed:
            return
        action_timeout.apply()
        action_fallback.apply()
        stores.apply()
        speedups.apply()
        access_log.apply()
        _installed = True
        logger.debug("footcare_server's changes installed into Rasa %s.", version)
