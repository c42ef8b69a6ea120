"""When the action server fails, the apology becomes the action's reply, kept in the conversation.

Every reply of this assistant comes from a custom action. When the action
server is down, too slow (footcare_server.action_timeout), answers with an
error or with something Rasa cannot read, Rasa 3.6 logs the failure, drops the
action's events and goes on: the user would get nothing, and the conversation
would hold a message without an answer. Here `RemoteAction.run` answers for the
action in that case with the never-silent reply (an apology, the clinic's
contact and the doctor recommendation; see channels/guard.py): Rasa sends it
through the channel like any reply and stores it in the tracker as the bot's
answer, so the stored conversation shows what the user was told.

A rejection (`ActionExecutionRejection`, which forms use on purpose) is left to
Rasa. The failure is logged by the action's name and the error's class, never
with message text.
"""

from __future__ import annotations

import logging
from typing import Any, List

logger = logging.getLogger(__name__)


def _error_summary(error: BaseException) -> str:
    # Only the class: the messages of some errors (e.g. a schema ValidationError) quote the response.
    cause = error.__cause__ or error.__context__
    return type(error).__name__ + (f" from {type(cause).__name__}" if cause else "")


def changes() -> list:
    """`RemoteAction.run`, answering with the apology when the action fails."""
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.core.events import BotUttered

    original_run = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        try:
            return await original_run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception as error:
            from footcare_content.apology import unavailable_text

            logger.error(
                "The action server did not run '%s' (%s); the user gets the apology with the doctor "
                "recommendation and the clinic's contact.",
                self.name(),
                _error_summary(error),
            )
            return [BotUttered(unavailable_text())]

    run._footcare_fallback = True  # type: ignore[attr-defined]
    return [(RemoteAction, "run", run)]
