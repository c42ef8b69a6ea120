"""What every input channel does with a user's message before Rasa sees it.

- `clean_text` drops control characters and cuts overlong messages;
- `SenderGate` caps how many messages of one sender wait at once, so that a
  flood from one sender is refused early instead of piling up behind Rasa's
  per-conversation lock (which gives up after a minute with an error);
- `notice` holds the short replies the channels give without asking Rasa
  (see channels/notices.yml).

Nothing here logs message text.
"""
from __future__ import annotations

import contextlib
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import yaml

MAX_MESSAGE_CHARS = 2000
# Messages of one sender that may be in Rasa at once (one handled, the others waiting).
MAX_WAITING_PER_SENDER = 4
NOTICES = Path(__file__).with_name("notices.yml")


def clean_text(text: str) -> str:
    """Drops control characters (keeping new lines and tabs) and cuts overlong messages."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return text[:MAX_MESSAGE_CHARS]


class SenderGate:
    """Counts the messages of each sender that are being handled right now."""

    def __init__(self, limit: int = MAX_WAITING_PER_SENDER) -> None:
        self.limit = limit
        self._busy: Counter[str] = Counter()

    @contextlib.contextmanager
    def admit(self, sender: str) -> Iterator[bool]:
        """Yields True if the message may go on, False if the sender has too many waiting."""
        if self._busy[sender] >= self.limit:
            yield False
            return
        self._busy[sender] += 1
        try:
            yield True
        finally:
            self._busy[sender] -= 1
            if self._busy[sender] <= 0:
                del self._busy[sender]


@lru_cache(maxsize=1)
def _notices() -> dict[str, str]:
    data = yaml.safe_load(NOTICES.read_text(encoding="utf-8"))
    return {key: " ".join(str(value).split()) for key, value in data.items()}


def notice(key: str) -> str:
    return _notices()[key]
