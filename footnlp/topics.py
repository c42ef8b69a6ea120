"""The topics of content/knowledge.yml (the one list of topics), as footcare_content reads and checks it.

The conditions are the ``condition`` concepts of content/lexicon.yml
(:func:`footnlp.lexicon.condition_ids`); ``scripts/check_domain.py`` (run by
``make validate``) checks domain.yml, data/rules.yml, the NLU data and
content/knowledge.yml against both lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

from footcare_content.knowledge import KNOWLEDGE_FILE, load_knowledge

#: parse-data keys footnlp's Rasa components set and the actions read (kept here, in a module that
#: loads no language model, so that the action server loads none)
TOPICS_KEY = "footcare_topics"
SUGGESTIONS_KEY = "footcare_suggestions"
GREETING_KEY = "footcare_greeting"
#: the safety findings (footnlp.findings, footnlp.warning_sign_component)
FINDINGS_KEY = "footcare_safety"
#: asked like a topic, answered from content/clinic.yml rather than a topic text
EXTRA_TOPIC_INTENTS = ("ask_booking",)


def read_topics(path: Path = KNOWLEDGE_FILE) -> Dict[str, str]:
    """{topic id: intent} of every topic in content/knowledge.yml, in file order (ContentError when the
    file does not pass footcare_content's checks)."""
    return {tid: topic.intent for tid, topic in load_knowledge(path).topics.items()}


def topic_intents(path: Path = KNOWLEDGE_FILE, *, with_extra: bool = True) -> Tuple[str, ...]:
    """The `intent` of every topic in content/knowledge.yml, in file order (plus booking)."""
    intents = read_topics(path).values()
    return tuple(dict.fromkeys([*intents, *(EXTRA_TOPIC_INTENTS if with_extra else ())]))
