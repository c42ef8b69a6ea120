"""Makes sure a user never gets silence.

If a turn produced no reply at all (the action server is down or too slow, so
Rasa dropped the action's messages), the user gets a short apology with the
doctor recommendation and the clinic's contact instead. "Too slow" means more
than ACTION_SERVER_TIMEOUT seconds (default 10; see footcare_server.action_timeout).

The commands "/restart" and "/session_start" are Rasa's own: its built-in
actions start the conversation afresh and say nothing, so the user gets the
`restarted` message of content/knowledge.yml instead of the apology.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.constants import USER_INTENT_RESTART, USER_INTENT_SESSION_START

from footcare_content.apology import unavailable_text
from footcare_content.knowledge import knowledge

logger = logging.getLogger(__name__)


def silent_command(text: Any) -> bool:
    """Whether the message is one of Rasa's commands whose built-in action says nothing."""
    if not isinstance(text, str):
        return False
    command = text.strip().lower()
    return any(
        command == f"/{intent}" or command.startswith(f"/{intent}{{")
        for intent in (USER_INTENT_RESTART, USER_INTENT_SESSION_START)
    )


class CountingOutputChannel(OutputChannel):
    """Passes every reply on to the real output channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner, self.sent = inner, 0

    @classmethod
    def name(cls) -> Text:
        return "counting"

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


def never_silent(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    """Wraps Rasa's message handler so that a turn without replies gets the fallback reply."""

    async def handle(message: UserMessage) -> Any:
        counter = CountingOutputChannel(message.output_channel)
        message.output_channel = counter
        result = await on_new_message(message)
        if counter.sent == 0:
            if silent_command(message.text):
                reply = knowledge().messages["restarted"]
            else:
                logger.warning("A turn produced no reply (is the action server up?); sent the fallback reply.")
                reply = unavailable_text()
            await counter.inner.send_text_message(message.sender_id, reply)
        return result

    return handle
