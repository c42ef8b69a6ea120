"""The topics, read from content/knowledge.yml (the one list of topics). Needs only yaml.

The conditions are the ``condition`` concepts of content/lexicon.yml
(:func:`footnlp.lexicon.condition_ids`); ``scripts/check_domain.py`` (run by
``make validate``) checks domain.yml, data/rules.yml, the NLU data and
content/knowledge.yml against both lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import yaml

KNOWLEDGE_FILE = Path(__file__).resolve().parent.parent / "content" / "knowledge.yml"
#: parse-data keys footnlp's Rasa components set and the actions read (kept here, in a module that
#: needs only yaml, so that the action server loads no language model)
TOPICS_KEY = "footcare_topics"
SUGGESTIONS_KEY = "footcare_suggestions"
GREETING_KEY = "footcare_greeting"
#: the safety findings (footnlp.findings, footnlp.warning_sign_component)
FINDINGS_KEY = "footcare_safety"
#: asked like a topic, answered from content/clinic.yml rather than a topic text
EXTRA_TOPIC_INTENTS = ("ask_booking",)


def read_topics(path: Path = KNOWLEDGE_FILE) -> Dict[str, str]:
    """{topic id: intent} of every topic in content/knowledge.yml, in file order."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    topics = data.get("topics") or {}
    return {tid: t["intent"] for tid, t in topics.items() if isinstance(t, dict) and t.get("intent")}


def topic_intents(path: Path = KNOWLEDGE_FILE, *, with_extra: bool = True) -> Tuple[str, ...]:
    """The `intent` of every topic in content/knowledge.yml, in file order (plus booking)."""
    intents = read_topics(path).values()
    return tuple(dict.fromkeys([*intents, *(EXTRA_TOPIC_INTENTS if with_extra else ())]))
