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
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

from footcare_content.files import ContentError, load_yaml

#: the cue words and phrases, as data (content/negation.yml)
CUES_FILE = Path(__file__).resolve().parent.parent / "content" / "negation.yml"


def _read_cues(path: Path = CUES_FILE) -> Dict[str, List[str]]:
    """content/negation.yml: a mapping of list names to lists of non-empty texts (checked here)."""
    data = load_yaml(path)  # a mapping, or ContentError
    for key, items in data.items():
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise ContentError(path, str(key), "must be a list of words or phrases (non-empty texts)")
    return data


def _words(cues: Dict[str, List[str]], key: str) -> List[str]:
    if key not in cues:
        raise ContentError(CUES_FILE, key, "missing")
    return [item.strip() for item in cues[key]]


def _phrases(cues: Dict[str, List[str]], key: str) -> Tuple[Tuple[str, ...], ...]:
    return tuple(tuple(item.split()) for item in _words(cues, key))


CUES = _read_cues()

DEFAULT_WINDOW = 6
#: a scope never runs further than this many tokens, whatever the list
MAX_SCOPE = 40

_APOS = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})

PRE_CUES = set(_words(CUES, "pre_cues"))
#: a check still to be done (or done and clear) names no finding: "my GP wants
#: to check for neuropathy", "blood tests for gout", "they tested me for a clot"
CHECK_CUES = _phrases(CUES, "check_cues")
#: multi-word cues, as lower-case word tuples
PRE_CUE_PHRASES = _phrases(CUES, "pre_cue_phrases") + CHECK_CUES
#: answers that negate what came just before ("numbness? no")
POST_CUES = set(_words(CUES, "post_cues"))
POST_PHRASES = _phrases(CUES, "post_phrases")

#: after a cue, these words make it a pseudo-negation (the finding is not denied)
PSEUDO_NEXT = set(_words(CUES, "pseudo_next"))
#: two-word pseudo-negations ("won't go away", "isn't going down")
PSEUDO_NEXT_PHRASES = _phrases(CUES, "pseudo_next_phrases")
#: words skipped when looking for a pseudo-negation word right after a cue
PSEUDO_SKIP = set(_words(CUES, "pseudo_skip"))

STRONG_BOUNDARIES = set(_words(CUES, "strong_boundaries"))
#: combination parts must share a clause: sentence ends and contrast words only
COMBINATION_BOUNDARIES = set(_words(CUES, "combination_boundaries"))
DASHES = set(_words(CUES, "dashes"))
SOFT_CONNECTORS = set(_words(CUES, "soft_connectors"))
CLAUSE_STARTERS = set(_words(CUES, "clause_starters"))
LIST_WORDS = set(_words(CUES, "list_words"))
ANSWER_MARKS = set(_words(CUES, "answer_marks"))
ANSWER_FOLLOWERS = set(_words(CUES, "answer_followers"))
RESOLVED = _phrases(CUES, "resolved")
RESOLVED_AUX = set(_words(CUES, "resolved_aux"))
RESOLVED_END = set(_words(CUES, "resolved_end"))
BACKWARD_FILLERS = set(_words(CUES, "backward_fillers"))


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
RESOLVED_MARKERS = _phrases(CUES, "resolved_markers")
#: single words of RESOLVED_MARKERS that only count at the end of a statement
#: ("it has gone" yes, "it has gone numb" no)
_RESOLVED_NEEDS_END = set(_phrases(CUES, "resolved_needs_end"))
#: after a bare "gone" only these (or punctuation) end the statement: "it's gone, thankfully"
#: but not "it's gone a weird colour", "has gone numb"
_GONE_END_OK = set(_words(CUES, "gone_end_ok"))
_END_OK = set(_words(CUES, "end_ok"))
#: "it is going on": cancels the markers above in the same clause
ONGOING_MARKERS = _phrases(CUES, "ongoing_markers")
#: a question about signs in general or about prevention (red flags only)
GENERAL_MARKERS = _phrases(CUES, "general_markers")
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
                # "..., and had surgery", and in the present: "a stroke 2 years ago and is on blood thinners"
                or lows[k]
                in ("had", "been", "gone", "all", "fully", "healed", "cleared", "nothing", "no", "is", "am", "are")
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
        # "the swelling went away but came back today": it is going on after all (a clause that names
        # something of its own, "can I have fascia massage now?", is about that, not the one before)
        if ongoing[c] and not mentions[c] and c > 0:
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
