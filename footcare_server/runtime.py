"""The one place that changes Rasa: `install()`, and `uninstall()` to put Rasa back.

What cannot go through one of Rasa's own doors (a tracker or lock store class
named in the endpoints file, a channel named in credentials.yml, a graph
component named in config.yml) is a *change*: a module constant, a method or a
class that a Rasa 3.6 module looks up by name, replaced by a value of ours.
Each module below only declares its changes (`changes()`, a list of
`(owner, attribute, new value)`); nothing is changed when a module is imported.
`install()` checks that the installed Rasa is the 3.6 line the changes are
written against, then sets every attribute and remembers the old value;
`uninstall()` sets them back. It is idempotent.

Who calls it: `python -m footcare_server <rasa arguments>` (footcare_server/
__main__.py), the way the Makefile, scripts/run.sh, scripts/shell.sh, the test
servers and the benchmark start Rasa, and `make shell-debug`, which runs the
same Rasa in-process. Rasa's own commands typed directly (`rasa run`, `rasa
shell`) run Rasa as shipped, with the project's channels, stores and
components but without these changes (docs/architecture.md lists what that
means).

The changes, by module:
- action_timeout: the wait for the action server (ACTION_SERVER_TIMEOUT);
- action_fallback: a failed action answers with the apology;
- stores: no silent fallback to memory around a StrictSQLTrackerStore;
- speedups: work Rasa repeats on every turn with the same result;
- console: `rasa shell` prints a reply with buttons whole;
- access_log: Sanic's access log without query strings (a logging filter).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Iterator, List, Tuple

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6."
_MISSING = object()

_lock = threading.Lock()
# (owner, attribute, the value before install(), or _MISSING when the owner did not have its own)
_undo: List[Tuple[Any, str, Any]] = []


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


def is_installed() -> bool:
    return bool(_undo)


def changes() -> List[Tuple[Any, str, Any]]:
    """Every change, as (owner, attribute, new value), in the order they are made."""
    from footcare_server import action_fallback, action_timeout, console, speedups, stores

    return [
        *action_timeout.changes(),
        *action_fallback.changes(),
        *stores.changes(),
        *speedups.changes(),
        *console.changes(),
    ]


def install() -> None:
    """Checks the Rasa version, then makes every change to Rasa (once)."""
    version = check_rasa_version()
    from footcare_server import access_log

    with _lock:
        if _undo:
            return
        for owner, name, value in changes():
            _undo.append((owner, name, vars(owner).get(name, _MISSING)))
            setattr(owner, name, value)
        access_log.apply()
        logger.debug("footcare_server's %d changes installed into Rasa %s.", len(_undo), version)


def uninstall() -> None:
    """Puts back what `install()` changed."""
    from footcare_server import access_log

    with _lock:
        while _undo:
            owner, name, old = _undo.pop()
            if old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)
        access_log.remove()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """The changes for the duration of a block (tests)."""
    install()
    try:
        yield
    finally:
        uninstall()
