"""Off-topic messages (footnlp/scope.py, content/scope.yml): long, and naming nothing of the subject."""

from __future__ import annotations

import pytest

from footcare_content.files import ContentError
from footnlp.pipeline import load_pipeline
from footnlp.scope import load_scope, parse_scope

NEIGHBOUR = (
    "Dear doctor, our new neighbour parks his van across our drive every evening and when my husband "
    "asked him politely to move it he shouted at him. We have lived here for twenty years. What can we do?"
)


@pytest.fixture(scope="module")
def nlp():
    return load_pipeline()


@pytest.fixture(scope="module")
def scope():
    return load_scope()


def test_a_long_letter_about_nothing_we_cover_is_off_topic(nlp, scope):
    assert scope.off_topic(NEIGHBOUR, nlp(NEIGHBOUR))


@pytest.mark.parametrize(
    "text",
    [
        # the same length, one word of the subject
        NEIGHBOUR.replace("What can we do?", "Now my heel is sore too. What can we do?"),
        NEIGHBOUR.replace("What can we do?", "Would a massage help us both relax?"),
        # a body part the lexicon knows, in no word list
        NEIGHBOUR.replace("What can we do?", "My metatarsals are throbbing from the stress."),
        # short messages are left to the classifier
        "how much is it?",
        "thanks, that was helpful!",
    ],
)
def test_a_word_of_the_subject_or_a_short_message_is_not(nlp, scope, text):
    assert not scope.off_topic(text, nlp(text))


@pytest.mark.parametrize(
    "data, error",
    [
        ({"version": 1, "min_words": 20}, "needs exactly the keys"),
        ({"version": 2, "min_words": 20, "words": ["foot"]}, "version: must be 1"),
        ({"version": 1, "min_words": 2, "words": ["foot"]}, "min_words: must be"),
        ({"version": 1, "min_words": True, "words": ["foot"]}, "min_words: must be"),
        ({"version": 1, "min_words": 20, "words": []}, "non-empty list"),
        ({"version": 1, "min_words": 20, "words": ["Foot"]}, r"words\[0\]"),
        ({"version": 1, "min_words": 20, "words": ["two words"]}, r"words\[0\]"),
        ({"version": 1, "min_words": 20, "words": ["foot", "foot"]}, "twice"),
    ],
)
def test_a_mistake_in_scope_yml_names_the_file_and_key(data, error):
    with pytest.raises(ContentError, match=error) as caught:
        parse_scope(data, "content/scope.yml")
    assert str(caught.value).startswith("content/scope.yml:")
