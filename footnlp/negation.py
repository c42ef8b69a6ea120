"""The negation rule (NegEx-style), on a tokenised spaCy doc.

A concept mention is *negated* when

1. **a negation cue comes before it, within its scope.**  Cues: no, not, n't,
   never, without, none, nor, neither, nothing, deny/denies/denied, free of /
   free from, absence of, negative for, no longer.  ("used to" is not one: "I
   used to have clots" keeps the clots, as history, see below.)
   A cue scopes forward over the following tokens and stops at

   * a clause boundary: . ! ? ; : … a spaced dash, a line break, or one of
     but, however, although, though, except, whereas, apart, aside, just,
     only ("no swelling, just tingling" keeps the tingling);
   * a comma or "and/so/then/plus" that starts a new clause, i.e. is followed
     by a subject such as my, i, it, the, there, this, now ... ("no fever, my
     foot is numb").  A comma only keeps the scope going inside a list of
     findings that ends with or/nor ("no numbness, tingling or burning");
     "no fever, numb toes" is read as two statements;
   * a short window: ``window`` ordinary tokens.  Tokens of other concept
     mentions and list words (or, nor, and, any, of, ",") do not use up the
     window, so long lists stay negated;
   * the next negation cue (which starts its own scope).

2. **a negation answer follows it**: "numbness? no", "fever - none",
   "swelling: nope", "tingling no," (the cue comes after ? : - = or stands alone
   at the end of a clause).  It negates the mention before it and the mentions
   listed with it ("fever, chills - none").

3. **it is reported as gone**: "the tingling has gone", "the swelling went
   down", "the numbness disappeared" (unless that is itself negated, as in
   "hasn't gone away").

Not cues:

* words inside a matched term ("can't feel", "won't heal", "no feeling" are
  lexicon terms for findings, so their negation belongs to the term);
* pseudo-negations, where the cue does not deny a finding: "no idea", "not
  sure", "no doubt", "not only", "don't know", "can't tell", "no change",
  "no better", "not improving", "doesn't help", "won't go away", "never stops";
* an answer "no" that opens a new clause: "no my foot is numb".

The time rule (:func:`token_status`) reads each clause of a message as

* ``history``: over, or clearly old: "years ago", "last year", "in 2015", "as
  a teenager", "used to", or "healed", "it's gone now", "all fine since",
  "fully recovered", unless the clause also says it is going on ("still",
  "again", "now", "came back").  A clause that only says it is over ("..., it's
  gone now") makes the clause before it history;
* ``general``: a question about signs in general or about prevention, not
  about the writer's foot: "what are the signs of", "how do I avoid", "to
  prevent", "someone with", "some people", "can massage cause", "if ... ever";
* ``current``: everything else.

Only :func:`negated_spans`, :func:`combination_clauses` and
:func:`token_status` are used by the pipeline; the rest is exposed for tests.
"""

from __future__ import annotations

import datetime
import re
from typing import Dict, List, Sequence, Set, Tuple

DEFAULT_WINDOW = 6
#: a scope never runs further than this many tokens, whatever the list
MAX_SCOPE = 40

_APOS = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})

PRE_CUES = {
    "no",
    "not",
    "never",
    "without",
    "w/o",
    "none",
    "nor",
    "neither",
    "nothing",
    "deny",
    "denies",
    "denied",
    "denying",
    "nope",
    "nah",
    "zero",
    "nil",
    "cannot",
}
#: a check still to be done (or done and clear) names no finding: "my GP wants
#: to check for neuropathy", "blood tests for gout", "they tested me for a clot"
CHECK_CUES: Tuple[Tuple[str, ...], ...] = (
    ("check", "for"),
    ("checked", "for"),
    ("checking", "for"),
    ("checks", "for"),
    ("test", "for"),
    ("tests", "for"),
    ("tested", "for"),
    ("testing", "for"),
    ("screen", "for"),
    ("screened", "for"),
    ("screening", "for"),
    ("tested", "me", "for"),
    ("tested", "him", "for"),
    ("tested", "her", "for"),
    ("checked", "me", "for"),
    ("checked", "him", "for"),
    ("checked", "her", "for"),
)
#: multi-word cues, as lower-case word tuples
PRE_CUE_PHRASES: Tuple[Tuple[str, ...], ...] = (
    ("free", "of"),
    ("free", "from"),
    ("absence", "of"),
    ("negative", "for"),
    ("ruled", "out"),
    ("rule", "out"),
) + CHECK_CUES
#: answers that negate what came just before ("numbness? no")
POST_CUES = {"no", "none", "nope", "nah", "never", "negative", "n", "non", "nil", "zero", "free"}
POST_PHRASES: Tuple[Tuple[str, ...], ...] = (
    ("not", "really"),
    ("not", "at", "all"),
    ("no", "never"),
    # a test result: "the blood test for gout came back negative"
    ("came", "back", "negative"),
    ("came", "back", "clear"),
    ("came", "back", "normal"),
    ("was", "negative"),
    ("were", "negative"),
    ("all", "negative"),
    ("both", "negative"),
    ("came", "back", "fine"),
    ("were", "normal"),
    ("was", "normal"),
    ("all", "normal"),
    ("is", "normal"),
    ("'s", "normal"),
    ("are", "normal"),  # "my temperature is normal"
)

#: after a cue, these words make it a pseudo-negation (the finding is not denied)
PSEUDO_NEXT = {
    "idea",
    "sure",
    "doubt",
    "only",
    "just",
    "matter",
    "certain",
    "clue",
    "know",
    "knowing",
    "knew",
    "understand",
    "tell",
    "change",
    "changed",
    "changing",
    "better",
    "improve",
    "improved",
    "improving",
    "improvement",
    "worse",
    "stop",
    "stops",
    "stopped",
    "stopping",
    "help",
    "helps",
    "helped",
    "helping",
    "heal",
    "healed",
    "healing",
    "ease",
    "eased",
    "easing",
    "settle",
    "settled",
    "settling",
    "subside",
    "subsided",
    "shift",
    "shifted",
    "budge",
    "wonder",
    "remember",
    "recall",
    "mind",
    "relief",
    "able",
}
#: two-word pseudo-negations ("won't go away", "isn't going down")
PSEUDO_NEXT_PHRASES: Tuple[Tuple[str, ...], ...] = (
    ("go", "away"),
    ("going", "away"),
    ("gone", "away"),
    ("went", "away"),
    ("goes", "away"),
    ("go", "down"),
    ("going", "down"),
    ("gone", "down"),
    ("went", "down"),
    ("clear", "up"),
)
#: words skipped when looking for a pseudo-negation word right after a cue
PSEUDO_SKIP = {
    "really",
    "quite",
    "totally",
    "entirely",
    "too",
    "so",
    "even",
    "very",
    "that",
    "been",
    "being",
    "seem",
    "seems",
    "to",
    "much",
    "any",
    "a",
    "the",
}

STRONG_BOUNDARIES = {
    ".",
    "!",
    "?",
    ";",
    ":",
    "...",
    "\u2026",
    "but",
    "however",
    "although",
    "though",
    "except",
    "whereas",
    "apart",
    "aside",
    "otherwise",
    "yet",
    "just",
    "only",
}
#: combination parts must share a clause: sentence ends and contrast words only
COMBINATION_BOUNDARIES = {
    ".",
    "!",
    "?",
    ";",
    "...",
    "\u2026",
    "but",
    "however",
    "although",
    "though",
    "except",
    "whereas",
    "otherwise",
}
DASHES = {"-", "\u2013", "\u2014", "--"}
SOFT_CONNECTORS = {",", "and", "so", "then", "plus", "&", "also"}
CLAUSE_STARTERS = {
    "i",
    "i'm",
    "im",
    "i've",
    "ive",
    "i'd",
    "my",
    "me",
    "it",
    "its",
    "it's",
    "you",
    "your",
    "he",
    "she",
    "his",
    "her",
    "we",
    "our",
    "they",
    "their",
    "there",
    "theres",
    "there's",
    "this",
    "that",
    "these",
    "those",
    "the",
    "now",
    "then",
    "just",
    "only",
    "still",
    "yes",
    "yeah",
    "yep",
    "which",
    "when",
    "since",
    "because",
    "cos",
    "as",
    "recently",
    "lately",
    "today",
    "yesterday",
    "tonight",
    "suddenly",
    "sometimes",
    "but",
}
LIST_WORDS = {",", "or", "nor", "and", "/", "&", "any", "of", "a", "an", "either", "no", "not", "even"}
ANSWER_MARKS = {"?", ":", "=", "-", "\u2013", "\u2014", "--", "...", "\u2026"}
ANSWER_FOLLOWERS = {
    "i",
    "i'm",
    "im",
    "my",
    "it",
    "its",
    "it's",
    "the",
    "that",
    "this",
    "there",
    "you",
    "we",
    "they",
    "he",
    "she",
    "but",
    "just",
    "not",
}
RESOLVED = (
    ("gone", "away"),
    ("went", "away"),
    ("gone", "down"),
    ("went", "down"),
    ("gone",),
    ("disappeared",),
    ("resolved",),
    ("cleared", "up"),
    ("cleared",),
    ("settled", "down"),
    ("subsided",),
    ("stopped",),
    ("vanished",),
)
RESOLVED_AUX = {
    "has",
    "have",
    "had",
    "'s",
    "s",
    "'ve",
    "ve",
    "is",
    "are",
    "was",
    "were",
    "all",
    "completely",
    "totally",
    "mostly",
    "now",
    "since",
    "pretty",
    "much",
    "just",
    "finally",
    "already",
}
RESOLVED_END = {"now", "completely", "totally", "since", "after", "when", "and", ",", "thankfully", "though", "again"}
BACKWARD_FILLERS = {
    "in",
    "on",
    "at",
    "of",
    "my",
    "the",
    "both",
    "around",
    "round",
    "under",
    "behind",
    "near",
    "your",
    "her",
    "his",
    "left",
    "right",
    "whole",
    "all",
    "any",
    "that",
    "this",
    "a",
}


def _low(token) -> str:
    lows = token.doc.user_data.get("footnlp_lows")
    if lows is not None and len(lows) == len(token.doc):
        return lows[token.i]
    return token.lower_.translate(_APOS)


def _is_not(token) -> bool:
    """n't / nt / not (spaCy's norm for these is "not")."""
    return _low(token) in ("not", "n't", "nt") or token.norm_ == "not"


def _boundary_strong(token) -> bool:
    low = _low(token)
    if low in STRONG_BOUNDARIES or token.is_space or "\n" in token.text:
        return True
    if low in DASHES and token.i > 0 and token.doc[token.i - 1].whitespace_:
        return True  # " - " between clauses, not the hyphen inside pins-and-needles
    return False


def combination_clauses(doc) -> List[int]:
    """A clause number for every token (combination parts must share one)."""
    clause, out = 0, []
    for token in doc:
        low = _low(token)
        if low in COMBINATION_BOUNDARIES or token.is_space or "\n" in token.text:
            clause += 1
            out.append(clause)
            clause += 1
            continue
        out.append(clause)
    return out


_FIRST_WORDS: Dict[int, Set[str]] = {}


def _lows(doc) -> List[str]:
    """Lower-case forms of all tokens, computed once per doc (they never change)."""
    cached = doc.user_data.get("footnlp_lows")
    if cached is None or len(cached) != len(doc):
        cached = [t.lower_.translate(_APOS) for t in doc]
        doc.user_data["footnlp_lows"] = cached
    return cached


def _phrase_at(doc, i: int, phrases: Sequence[Tuple[str, ...]]) -> int:
    """Length of the first phrase starting at token i, else 0."""
    first = _FIRST_WORDS.get(id(phrases))
    if first is None:
        first = _FIRST_WORDS[id(phrases)] = {p[0] for p in phrases}
    lows = _lows(doc)
    if lows[i] not in first:
        return 0
    for phrase in phrases:
        n = len(phrase)
        if i + n <= len(lows) and all(lows[i + k] == phrase[k] for k in range(n)):
            return n
    return 0


def _is_pseudo(doc, i: int, cue_len: int) -> bool:
    j = i + cue_len
    steps = 0
    while j < len(doc) and steps < 3:
        low = _low(doc[j])
        if low in PSEUDO_NEXT or _phrase_at(doc, j, PSEUDO_NEXT_PHRASES):
            return True
        if low in PSEUDO_SKIP or doc[j].norm_ in ("get", "be"):
            j += 1
            steps += 1
            continue
        return False
    return False


def find_cues(doc, covered: Set[int], helper_only: Set[int] = frozenset()) -> List[Tuple[int, int]]:
    """(start, end) token ranges of forward-scoping negation cues.

    ``helper_only``: covered tokens that only helper words cover (such as "blood
    tests"); a check cue may start there ("blood tests for gout").
    """
    cues = []
    i = 0
    while i < len(doc):
        if i in covered:
            n = _phrase_at(doc, i, CHECK_CUES) if i in helper_only else 0
            if n and all(k in helper_only or k not in covered for k in range(i, i + n)):
                cues.append((i, i + n))
                i += n
                continue
            i += 1
            continue
        n = _phrase_at(doc, i, PRE_CUE_PHRASES)
        if not n and (_low(doc[i]) in PRE_CUES or _is_not(doc[i])):
            n = 1
        if n and not any(k in covered for k in range(i, i + n)):
            low = _low(doc[i])
            if _is_pseudo(doc, i, n):
                pass
            elif low in ("no", "nope", "nah") and i + 1 < len(doc) and _low(doc[i + 1]) in ANSWER_FOLLOWERS:
                pass  # "no my foot is numb": an answer, then a new clause
            else:
                cues.append((i, i + n))
            i += n
            continue
        i += 1
    return cues


def _or_ahead(doc, j: int, limit: int = 14) -> bool:
    """Is there an "or"/"nor" later in the same clause (within ``limit`` tokens)?"""
    for k in range(j + 1, min(len(doc), j + 1 + limit)):
        if _boundary_strong(doc[k]):
            return False
        if _low(doc[k]) in ("or", "nor"):
            return True
    return False


def _weak_boundary(doc, j: int, starts: Dict[int, List[int]]) -> bool:
    """Does the comma / conjunction at j start a new clause?"""
    low = _low(doc[j])
    if low not in SOFT_CONNECTORS:
        return False
    k = j + 1
    while k < len(doc) and k < j + 4 and _low(doc[k]) in SOFT_CONNECTORS | {"or", "nor"}:
        k += 1
    if k >= len(doc):
        return True
    nxt = _low(doc[k])
    if nxt in CLAUSE_STARTERS:
        return True
    if low == ",":
        # a comma only continues a list of findings that ends with or / nor:
        # "no numbness, tingling or burning" (but "no fever, numb toes" is two statements)
        if not _or_ahead(doc, j):
            return True
        m = k
        while m < len(doc) and m < k + 4 and _low(doc[m]) in LIST_WORDS:
            m += 1
        if m in starts:
            return False
        # a single-word list item we do not know: "no fever, sweats, numbness"
        if m < len(doc) and doc[m].is_alpha:
            after = m + 1
            if after >= len(doc) or _low(doc[after]) in {",", "or", "nor", "and", "/"} or _boundary_strong(doc[after]):
                return False
        return True
    return False


def negated_spans(doc, spans: Sequence, window: int = DEFAULT_WINDOW) -> Set[int]:
    """Indexes (into ``spans``) of the negated mentions."""
    covered: Set[int] = set()
    starts: Dict[int, List[int]] = {}
    ends: Dict[int, List[int]] = {}
    for idx, span in enumerate(spans):
        covered.update(range(span.start, span.end))
        starts.setdefault(span.start, []).append(idx)
        ends.setdefault(span.end, []).append(idx)

    negated: Set[int] = set()
    _lows(doc)  # cache lower-case forms

    # 1. forward scope of pre-negation cues (a scope ends where the next cue starts)
    finding_tokens = {k for span in spans if span.label_ != "CONTEXT" for k in range(span.start, span.end)}
    helper_only = covered - finding_tokens
    cues = find_cues(doc, covered, helper_only)
    for n, (_, cue_end) in enumerate(cues):
        stop = min(cues[n + 1][0] if n + 1 < len(cues) else len(doc), cue_end + MAX_SCOPE)
        budget = window
        j = cue_end
        while j < stop:
            token = doc[j]
            if _boundary_strong(token) or _weak_boundary(doc, j, starts):
                break
            if j in starts:
                negated.update(starts[j])
                j = max(spans[k].end for k in starts[j])
                continue
            if j in covered:  # inside a longer mention that started earlier
                j += 1
                continue
            if _low(token) in LIST_WORDS or token.is_punct:
                j += 1
                continue
            budget -= 1
            if budget < 0:
                break
            j += 1

    # 2. answers after the mention: "numbness? no", "fever - none", "pain-free"
    for i, token in enumerate(doc):
        if i in covered:
            # a result phrase may lie inside helper words ("is normal" is also an all-clear)
            n = _phrase_at(doc, i, POST_PHRASES) if i in helper_only else 0
            if not n or any(k in finding_tokens for k in range(i, i + n)):
                continue
        else:
            n = _phrase_at(doc, i, POST_PHRASES)
            if not n and _low(token) not in POST_CUES:
                continue
        n = n or 1
        prev = i - 1
        marked = False
        while prev >= 0 and _low(doc[prev]) in ANSWER_MARKS:
            prev -= 1
            marked = True
        if prev < 0:
            continue
        after = i + n
        at_end = after >= len(doc) or doc[after].is_punct or _low(doc[after]) in {"and", "but", "though"}
        end = _skip_place_back(doc, prev + 1, spans, ends)
        if _low(token) == "free" and (prev + 1) in ends:
            negated |= _backward_list(doc, prev + 1, spans, ends)  # "pain free", "pain-free"
        elif marked or at_end:
            negated |= _backward_list(doc, end, spans, ends)

    # 3. "the tingling has gone", "the swelling went down"
    for i in range(len(doc)):
        if i in covered:
            continue
        n = _phrase_at(doc, i, RESOLVED)
        if not n:
            continue
        after = i + n
        if after < len(doc) and not (doc[after].is_punct or _low(doc[after]) in RESOLVED_END):
            continue  # "gone numb", "gone up my leg"
        k = i - 1
        while k >= 0 and (_low(doc[k]) in RESOLVED_AUX):
            k -= 1
        if k >= 0 and _is_not(doc[k]) or (k >= 0 and _low(doc[k]) in ("never", "not")):
            continue  # "hasn't gone away"
        negated |= _backward_list(doc, _skip_place_back(doc, k + 1, spans, ends), spans, ends)
    return negated


def _skip_place_back(doc, end: int, spans, ends: Dict[int, List[int]]) -> int:
    """Step back over a short place phrase ("in my toes") to the finding before it."""
    steps = 0
    while end > 0 and steps < 6:
        here = ends.get(end, [])
        if here and any(spans[x].label_ != "BODY_PART" for x in here):
            break
        if here:
            end = min(spans[x].start for x in here)
        elif _low(doc[end - 1]) in BACKWARD_FILLERS:
            end -= 1
        else:
            break
        steps += 1
    return end if end in ends else end


def _backward_list(doc, end: int, spans, ends: Dict[int, List[int]]) -> Set[int]:
    """Mentions ending at ``end`` and the ones listed before them ("fever, chills")."""
    out: Set[int] = set()
    while end in ends:
        idxs = ends[end]
        out.update(idxs)
        start = min(spans[k].start for k in idxs)
        k = start - 1
        while k >= 0 and k > start - 4 and _low(doc[k]) in {",", "or", "and", "/", "&", "nor"}:
            k -= 1
        if k == start - 1:
            break
        end = k + 1
    return out


# ------------------------------------------------------------------ time rule

CURRENT, HISTORY, GENERAL = "current", "history", "general"

#: "it happened long ago"
OLD_MARKERS: Tuple[Tuple[str, ...], ...] = (
    ("years", "ago"),
    ("year", "ago"),
    ("yrs", "ago"),
    ("yr", "ago"),
    ("years", "back"),
    ("decade", "ago"),
    ("decades", "ago"),
    ("ages", "ago"),
    ("long", "ago"),
    ("last", "year"),
    ("as", "a", "child"),
    ("as", "a", "kid"),
    ("as", "a", "teenager"),
    ("as", "a", "teen"),
    ("when", "i", "was", "a", "kid"),
    ("when", "i", "was", "a", "child"),
    ("when", "i", "was", "little"),
    ("when", "i", "was", "younger"),
    ("when", "i", "was", "young"),
    ("in", "my", "teens"),
    ("in", "my", "twenties"),
    ("in", "my", "20s"),
    ("used", "to"),
    ("last", "summer"),
    ("last", "winter"),
    ("last", "spring"),
    ("last", "autumn"),
    ("in", "my", "thirties"),
    ("in", "my", "30s"),
    ("as", "a", "student"),
    ("when", "i", "was", "pregnant"),
    ("after", "my", "son", "was", "born"),
    ("after", "my", "daughter", "was", "born"),
) + tuple(
    ("back", "in", m)
    for m in (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sept",
        "oct",
        "nov",
        "dec",
        "the",
        "spring",
        "summer",
        "autumn",
        "winter",
    )
)
#: "it is over" (not after a negation: "hasn't healed")
RESOLVED_MARKERS: Tuple[Tuple[str, ...], ...] = (
    ("fine", "ever", "since"),
    ("fine", "since"),
    ("fine", "now"),
    ("fine", "again"),
    ("fine", "after"),
    ("been", "fine"),
    ("all", "fine"),
    ("all", "ok"),
    ("all", "okay"),
    ("all", "good"),
    ("ok", "since"),
    ("okay", "since"),
    ("ok", "now"),
    ("okay", "now"),
    ("good", "now"),
    ("all", "healed"),
    ("fully", "healed"),
    ("healed", "up"),
    ("healed", "fine"),
    ("healed",),
    ("no", "problems", "since"),
    ("no", "problem", "since"),
    ("no", "trouble", "since"),
    ("no", "issues", "since"),
    ("nothing", "since"),
    ("not", "since"),
    ("never", "since"),
    ("gone", "now"),
    ("went", "away"),
    ("gone", "away"),
    ("cleared", "up"),
    ("cleared", "with"),
    ("fully", "recovered"),
    ("recovered",),
    ("got", "better"),
    ("all", "better"),
    ("back", "to", "normal"),
    ("resolved",),
    ("it", "passed"),
    ("that", "passed"),
    ("was", "treated"),
    ("were", "treated"),
    ("signed", "me", "off"),
    ("grew", "back"),
    ("stopped", "after"),
    ("that", "stopped"),
    ("it", "stopped"),
    ("over", "now"),
    # over within moments: "pins and needles when I sit cross-legged, goes after a minute"
    ("after", "a", "minute"),
    ("in", "a", "minute"),
    ("within", "a", "minute"),
    ("after", "a", "few", "minutes"),
    ("within", "a", "few", "minutes"),
    ("then", "fine"),
    ("then", "it", "was", "fine"),
    ("then", "it's", "fine"),
    ("then", "went", "away"),
    # "..., now it's fine": "now" here says it is over, not going on
    ("now", "it", "'s", "fine"),
    ("now", "its", "fine"),
    ("now", "it", "is", "fine"),
    ("now", "fine"),
    ("now", "it", "'s", "ok"),
    ("now", "it", "'s", "okay"),
    ("now", "ok"),
    ("now", "back", "to", "normal"),
    ("'s", "fine", "now"),
    ("is", "fine", "now"),
    ("back", "to", "normal", "now"),
    ("better", "now"),
    ("much", "better", "now"),
    ("all", "better", "now"),
    ("healing", "well"),
    ("healing", "nicely"),
    ("healing", "fine"),
    ("healing", "up", "nicely"),
    ("scabbed", "over"),
    ("sorted", "it"),
    ("sorted", "it", "out"),
    ("sorted", "out"),
    ("cleared", "it"),
    ("cured", "it"),
    ("'s", "gone", "now"),
    ("s", "gone", "now"),
    ("has", "gone", "now"),
    ("is", "gone", "now"),
    ("'s", "all", "gone"),
    ("has", "all", "gone"),
    ("that's", "gone"),
    ("it's", "gone"),
    ("has", "gone"),
    ("have", "gone"),
    ("is", "gone"),
    ("'s", "gone"),
    ("s", "gone"),
)
#: single words of RESOLVED_MARKERS that only count at the end of a statement
#: ("it has gone" yes, "it has gone numb" no)
_RESOLVED_NEEDS_END = {
    ("healed",),
    ("recovered",),
    ("resolved",),
    ("it", "passed"),
    ("that", "passed"),
    ("it", "stopped"),
    ("that", "stopped"),
    # "that's gone" yes, "it's gone numb", "has gone black" no
    ("that's", "gone"),
    ("it's", "gone"),
    ("has", "gone"),
    ("have", "gone"),
    ("is", "gone"),
    ("'s", "gone"),
    ("s", "gone"),
}
#: after a bare "gone" only these (or punctuation) end the statement: "it's gone, thankfully"
#: but not "it's gone a weird colour", "has gone numb"
_GONE_END_OK = {"now", "completely", "totally", "thankfully", "since", "and", "but", "though", "after", "altogether"}
_END_OK = {
    "now",
    "completely",
    "totally",
    "since",
    "after",
    "when",
    "once",
    "and",
    "but",
    "though",
    "thankfully",
    "nicely",
    "well",
    "fine",
    "within",
    "in",
    "by",
    "with",
    "last",
    "a",
    "years",
    "months",
    "weeks",
    "ages",
    "long",
    "quickly",
    "properly",
    "fully",
    "up",
}
#: "it is going on": cancels the markers above in the same clause
ONGOING_MARKERS: Tuple[Tuple[str, ...], ...] = (
    ("still",),
    ("again",),
    ("now",),
    ("came", "back"),
    ("come", "back"),
    ("coming", "back"),
    ("comes", "back"),
    ("today",),
    ("tonight",),
    ("currently",),
    ("at", "the", "moment"),
    ("these", "days"),
    ("since", "then"),
    ("ever", "since"),
    ("anymore",),
    ("any", "more"),
    ("this", "morning"),
    ("this", "week"),
    ("right", "now"),
)
#: a question about signs in general or about prevention (red flags only)
GENERAL_MARKERS: Tuple[Tuple[str, ...], ...] = (
    ("how", "do", "i", "avoid"),
    ("how", "can", "i", "avoid"),
    ("how", "to", "avoid"),
    ("to", "avoid"),
    ("avoid", "getting"),
    ("prevent",),
    ("prevents",),
    ("preventing",),
    ("prevention",),
    ("lower", "my", "risk"),
    ("reduce", "my", "risk"),
    ("reduce", "the", "risk"),
    ("risk", "of"),
    ("what", "are", "the", "signs"),
    ("what", "are", "the", "symptoms"),
    ("signs", "of"),
    ("symptoms", "of"),
    ("how", "do", "you", "know", "if"),
    ("how", "can", "you", "tell"),
    ("explain",),
    ("difference", "between"),
    ("some", "people"),
    ("someone", "with"),
    ("somebody", "with"),
    ("anyone", "with"),
    ("people", "with"),
    ("people", "on"),
    ("people", "who"),
    ("if", "someone"),
    ("what", "would", "happen"),
    ("would", "that", "be"),
    ("can", "massage", "cause"),
    ("does", "massage", "cause"),
    ("could", "massage", "cause"),
    ("can", "a", "massage", "cause"),
    ("can", "massaging", "cause"),
    ("when", "should", "i", "worry"),
    ("what", "if"),
    ("in", "case"),
    # "how do you tell a torn achilles from a tight one?", "what signs should I look out for"
    ("how", "do", "you", "tell"),
    ("how", "do", "i", "tell"),
    ("how", "can", "i", "tell"),
    ("how", "to", "tell"),
    ("how", "would", "i", "know"),
    ("how", "would", "you", "know"),
    ("how", "do", "i", "know", "if"),
    ("tell", "the", "difference"),
    ("look", "out", "for"),
    ("watch", "out", "for"),
    ("what", "to", "look", "for"),
    ("what", "signs"),
    ("which", "signs"),
    ("what", "symptoms"),
    ("warning", "signs"),
    ("reading", "up"),
    ("read", "up", "on"),
    ("read", "about"),
    ("heard", "about"),
    ("is", "it", "true"),
    ("can", "you", "get"),
    ("can", "people", "get"),
    ("a", "friend", "had"),
    ("my", "friend", "had"),
    # recovery timelines: "how long after an achilles rupture can you massage?"
    ("how", "long", "after"),
    ("how", "soon", "after"),
    ("how", "long", "before"),
)
#: "in 2015": a year before this one
_YEAR = re.compile(r"^(19[5-9][0-9]|20[0-9][0-9])$")
# a time marker's clause: the combination boundaries, and "yet"
_STATUS_BOUNDARIES = COMBINATION_BOUNDARIES | {"yet"}
#: the finding categories a resolved clause may refer back to
_FINDING_LABELS = {"RED_FLAG", "SYMPTOM", "CONDITION"}


def _status_clauses(doc) -> List[int]:
    """A clause number for every token: sentence ends, contrast words, and a
    comma or "and" that starts a new statement ("..., it's gone now")."""
    lows = _lows(doc)
    out, clause = [], 0
    for i, token in enumerate(doc):
        low = lows[i]
        if low in _STATUS_BOUNDARIES or token.is_space or "\n" in token.text:
            clause += 1
            out.append(clause)
            clause += 1
            continue
        if low in SOFT_CONNECTORS and i + 1 < len(doc):
            k = i + 1
            while k < len(doc) and k < i + 3 and lows[k] in SOFT_CONNECTORS:
                k += 1
            if k < len(doc) and (
                lows[k] in CLAUSE_STARTERS
                or lows[k] in ("had", "been", "gone", "all", "fully", "healed", "cleared", "nothing", "no")
            ):
                clause += 1
        out.append(clause)
    return out


def _markers(doc, phrases, taken: Set[int]) -> List[Tuple[int, int]]:
    """(start, end) of the phrases found on tokens not already taken (which they then take)."""
    found = []
    first = {p[0] for p in phrases}
    for i, low in enumerate(_lows(doc)):
        if i in taken or low not in first:
            continue
        n = _phrase_at(doc, i, phrases)
        if n and not any(k in taken for k in range(i, i + n)):
            found.append((i, i + n))
            taken.update(range(i, i + n))
    return found


def token_status(doc, spans: Sequence = ()) -> List[str]:
    """``current``, ``history`` or ``general`` for every token, by its clause (see module doc).

    ``spans`` are the concept mentions: a clause that only says something is
    over ("it's gone now") and names no finding of its own makes the clause
    before it (with findings) history.
    """
    lows = _lows(doc)
    clauses = _status_clauses(doc)
    count = (clauses[-1] + 1) if clauses else 0
    old = [False] * count
    resolved = [False] * count
    ongoing = [False] * count
    general = [False] * count
    findings = [False] * count  # the clause names a finding of its own
    mentions = [False] * count  # the clause names anything at all
    for span in spans:
        for k in range(span.start, span.end):
            mentions[clauses[k]] = True
            if span.label_ in _FINDING_LABELS:
                findings[clauses[k]] = True
    taken: Set[int] = set()
    # words of a warning sign's own term are not a time marker ("the feeling has gone")
    in_red_flag = {k for span in spans if span.label_ == "RED_FLAG" for k in range(span.start, span.end)}
    for start, end in _markers(doc, RESOLVED_MARKERS, taken):
        if in_red_flag and any(k in in_red_flag for k in range(start, end)):
            continue
        phrase = tuple(lows[start:end])
        if phrase in _RESOLVED_NEEDS_END and end < len(doc):
            nxt = doc[end]
            ok = _GONE_END_OK if phrase[-1] == "gone" else _END_OK
            if not (nxt.is_punct or lows[end] in ok):
                continue
        before = [lows[k] for k in range(max(0, start - 3), start)]
        if any(b in ("not", "n't", "nt", "never", "yet", "hasnt", "havent", "isnt", "wasnt") for b in before) or any(
            doc[k].norm_ == "not" for k in range(max(0, start - 2), start)
        ):
            continue  # "hasn't healed", "never went away"
        resolved[clauses[start]] = True
    for start, _ in _markers(doc, OLD_MARKERS, taken):
        old[clauses[start]] = True
    this_year = datetime.date.today().year
    for i, low in enumerate(lows):
        if _YEAR.match(low) and int(low) < this_year and i > 0 and lows[i - 1] in ("in", "back", "of"):
            old[clauses[i]] = True
    for start, _ in _markers(doc, ONGOING_MARKERS, taken):
        ongoing[clauses[start]] = True
    for start, _ in _markers(doc, GENERAL_MARKERS, set()):
        general[clauses[start]] = True
    # "what does a ruptured achilles feel like?", "if my foot ever went blue"
    words_of: Dict[int, List[str]] = {}
    for i, low in enumerate(lows):
        words_of.setdefault(clauses[i], []).append(low)
    for c, words in words_of.items():
        joined = " ".join(words)
        if ("what" in words and ("feel like" in joined or "look like" in joined)) or (
            "if" in words and "ever" in words
        ):
            general[c] = True

    status = [CURRENT] * count
    for c in range(count):
        if general[c]:
            status[c] = GENERAL
        elif (old[c] or resolved[c]) and not ongoing[c]:
            status[c] = HISTORY
    for c in range(count):
        # "the swelling went away but came back today": it is going on after all
        if ongoing[c] and not findings[c] and c > 0:
            prev = c - 1
            while prev > 0 and not mentions[prev]:
                prev -= 1
            if status[prev] == HISTORY:
                status[prev] = CURRENT
                ongoing[prev] = True
    for c in range(count):
        if resolved[c] and not ongoing[c] and not findings[c]:
            prev = c - 1
            while prev >= 0 and not mentions[prev] and not ongoing[prev]:
                prev -= 1
            if prev >= 0 and mentions[prev] and not ongoing[prev] and status[prev] == CURRENT:
                status[prev] = HISTORY
    return [status[clauses[i]] for i in range(len(doc))]


def span_status(statuses: Sequence[str], span) -> str:
    """A mention's status: ``current`` if any of its words is in a current clause."""
    seen = {statuses[k] for k in range(span.start, span.end) if k < len(statuses)}
    if not seen or CURRENT in seen:
        return CURRENT
    return HISTORY if HISTORY in seen else GENERAL
