"""How long the Rasa server waits for the action server.

Rasa 3.6 waits up to `rasa.core.constants.DEFAULT_REQUEST_TIMEOUT` (300 s) for
every custom action and offers no setting for it: `RemoteAction.run` passes
the module constant to aiohttp on each call. This module's change sets that
constant from ACTION_SERVER_TIMEOUT (seconds). When the wait runs out, Rasa logs the
failed action, the turn ends without the action's messages and the channel's
never-silent guard sends the apology with the doctor recommendation and the
clinic's contact.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

ENV = "ACTION_SERVER_TIMEOUT"
DEFAULT_SECONDS = 10.0


def seconds() -> float:
    """ACTION_SERVER_TIMEOUT as a positive number of seconds (default 10)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{ENV} must be more than 0 seconds, not {raw!r}")
    return value


def changes() -> list:
    """Rasa's custom-action calls give up after `seconds()`."""
    import rasa.core.actions.action as rasa_action

    return [(rasa_action, "DEFAULT_REQUEST_TIMEOUT", seconds())]
