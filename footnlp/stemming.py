"""The one normalisation of lexicon terms and message tokens: a light stemmer. Plain Python."""

from __future__ import annotations

from typing import Dict

#: Irregular forms (after lower-casing) mapped to the form their regular
#: relatives stem to.  Keep entries to words that matter for symptoms.
IRREGULAR: Dict[str, str] = {
    "feet": "foot",
    "calves": "calf",
    "swollen": "swell",
    "swolen": "swell",
    "broke": "break",
    "broken": "break",
    "tore": "tear",
    "torn": "tear",
    "fell": "fall",
    "fallen": "fall",
    "felt": "feel",
    "heard": "hear",
    "lost": "lose",
    "woke": "wake",
    "woken": "wake",
    "bled": "bleed",
    "stood": "stand",
    "sat": "sit",
    "lying": "lie",
    "lain": "lie",
    "thought": "think",
    "kept": "keep",
    "slept": "sleep",
    "caught": "catch",
    "came": "come",
    "ran": "run",
    "began": "begin",
    "begun": "begin",
    "gone": "go",
    "went": "go",
    "goes": "go",
    "going": "go",
    "got": "get",
    "gotten": "get",
    "gets": "get",
    "getting": "get",
    "is": "be",
    "are": "be",
    "was": "be",
    "were": "be",
    "been": "be",
    "being": "be",
    "am": "be",
    "m": "be",
    "'m": "be",
    "re": "be",
    "'re": "be",
    "has": "have",
    "had": "have",
    "having": "have",
    "ve": "have",
    "'ve": "have",
    "does": "do",
    "did": "do",
    "done": "do",
    "doing": "do",
    "spread": "spread",
    "spreading": "spread",
    # the past of "can" reads like it: "couldn't breathe", "could not put weight on it"
    "could": "can",
}

APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def _cons(w: str, i: int) -> bool:
    c = w[i]
    if c in "aeiou":
        return False
    if c == "y":
        return i == 0 or not _cons(w, i - 1)
    return True


def _measure(w: str) -> int:
    """Porter's m: the number of vowel-consonant sequences."""
    m, i, n = 0, 0, len(w)
    while i < n and _cons(w, i):
        i += 1
    while i < n:
        while i < n and not _cons(w, i):
            i += 1
        if i >= n:
            break
        while i < n and _cons(w, i):
            i += 1
        m += 1
    return m


def _has_vowel(w: str) -> bool:
    return any(not _cons(w, i) for i in range(len(w)))


def _double_cons(w: str) -> bool:
    return len(w) >= 2 and w[-1] == w[-2] and _cons(w, len(w) - 1)


def _cvc(w: str) -> bool:
    return (
        len(w) >= 3
        and _cons(w, len(w) - 3)
        and not _cons(w, len(w) - 2)
        and _cons(w, len(w) - 1)
        and w[-1] not in "wxy"
    )


def stem(word: str) -> str:
    """The one normalisation used for lexicon terms and message tokens alike.

    Lower-cases, unifies apostrophes, maps a few irregular forms and applies a
    light Porter-style stemmer (plural -s/-es/-ies, -ed, -ing, -ness, -ful, a
    final -e), so "Toes/toe", "tingling/tingles/tingled", "swollen/swelling",
    "numbness/numb" and "hurts/hurting" meet.  Short words (3 letters or fewer)
    and words with digits or symbols are only lower-cased.
    """
    w = word.lower().translate(APOSTROPHES)
    if w in IRREGULAR:
        return IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha() or not w.isascii():
        return w
    # step 1a: plurals
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss") and not w.endswith("us") and not w.endswith("is"):
        w = w[:-1]
    # step 1b: -eed, -ed, -ing
    if w.endswith("eed"):
        if _measure(w[:-3]) > 0:
            w = w[:-1]
    else:
        for suffix in ("ed", "ing"):
            if w.endswith(suffix) and _has_vowel(w[: -len(suffix)]) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                if w.endswith(("at", "bl", "iz")):
                    w += "e"
                elif _double_cons(w) and w[-1] not in "lsz":
                    w = w[:-1]
                elif _measure(w) == 1 and _cvc(w):
                    w += "e"
                break
    # step 1c: y -> i
    if w.endswith("y") and len(w) > 3 and _has_vowel(w[:-1]):
        w = w[:-1] + "i"
    # a small part of step 3
    for suffix in ("ness", "ful"):
        if w.endswith(suffix) and _measure(w[: -len(suffix)]) > 0:
            w = w[: -len(suffix)]
            break
    # step 5
    if w.endswith("e"):
        m = _measure(w[:-1])
        if m > 1 or (m == 1 and not _cvc(w[:-1])):
            w = w[:-1]
    if _measure(w) > 1 and w.endswith("ll"):
        w = w[:-1]
    return w


def token_stem(token) -> str:
    """The stem of a token's default norm (which already turns n't / nt into
    "not", 'm into "am" ...), except that the past "did" stays "did": "a blister
    I didn't feel" (not felt: a warning sign with diabetes) is not "I don't feel
    ill" (a negation)."""
    if token.lower_.translate(APOSTROPHES) in ("did", "didn"):
        return "did"
    return stem(token.norm_)
