"""Plugins of the action server; rasa-sdk imports this package by its name (see rasa_sdk/plugin.py).

Private errors: when a custom action raises, rasa-sdk's own error handler
answers 500 with the whole request as "request_body", that is the tracker with
every message of the conversation and the sender id, and the Rasa server then
logs that body at ERROR level. Here an action failure is logged with the
exception's class and where it was raised (the full traceback only at DEBUG
level), and the Rasa server gets a 500 that names no conversation data.
The assistant still answers the user (channels/guard.py sends the fallback reply).
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pluggy
from sanic import response
from sanic.exceptions import SanicException

hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger("actions.errors")


def _where(exception: BaseException) -> str:
    frames = traceback.extract_tb(exception.__traceback__) if exception.__traceback__ else []
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


async def private_error(request: Any, exception: Exception) -> response.HTTPResponse:
    if isinstance(exception, SanicException) and getattr(exception, "status_code", 500) < 500:
        return response.json({"error": exception.__class__.__name__}, status=exception.status_code)
    logger.error(
        "A custom action failed: %s%s (traceback at DEBUG level)", exception.__class__.__name__, _where(exception)
    )
    logger.debug("Action failure", exc_info=exception)
    return response.json({"error": f"the action server failed ({exception.__class__.__name__})"}, status=500)


class PrivateErrors:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        app.error_handler.add(Exception, private_error)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(PrivateErrors())
