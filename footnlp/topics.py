"""The topic intents, read from content/knowledge.yml (the one list of topics). Needs only yaml."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import yaml

KNOWLEDGE_FILE = Path(__file__).resolve().parent.parent / "content" / "knowledge.yml"
#: parse-data keys footnlp.intent_classifier sets and the actions read
TOPICS_KEY = "footcare_topics"
SUGGESTIONS_KEY = "footcare_suggestions"
GREETING_KEY = "footcare_greeting"
#: asked like a topic, answered from content/clinic.yml rather than a topic text
EXTRA_TOPIC_INTENTS = ("ask_booking",)


def topic_intents(path: Path = KNOWLEDGE_FILE, *, with_extra: bool = True) -> Tuple[str, ...]:
    """The `intent` of every topic in content/knowledge.yml, in file order (plus booking)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    topics = data.get("topics") or {}
    intents = [t["intent"] for t in topics.values() if isinstance(t, dict) and t.get("intent")]
    return tuple(dict.fromkeys([*intents, *(EXTRA_TOPIC_INTENTS if with_extra else ())]))
