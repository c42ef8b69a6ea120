"""Warning-sign triage of a trained model on every warning-sign set, per set and level, with floors.

    python scripts/triage_report.py models/footcare.tar.gz --min written=1.0 real=0.80
    python scripts/triage_report.py models/footcare.tar.gz --markdown -   # the table of docs/evaluation.md

Each message goes through the trained model as a patient's first message would
(`Agent.parse_message`, the whole NLU pipeline as shipped); the safety decision
then reads its findings exactly as the action server does (actions/safety). For
a warning-sign message it counts

- caught: any warning sign found, or a screening question asked;
- right level or more cautious: the level advised (after the question, if one
  was asked) is at least as urgent as the set's level;
- under-triaged: the level advised is less urgent than the set's level (or none);
- questions: a screening question was asked.

For a look-alike: false alarms (any warning sign found) and questions asked.
A screening question is answered as the writer would: Yes when the question's
sign is one of the message's expected signs (then its level counts), otherwise
No (then the second question, if any, is answered the same way).  Detectors
compared: the lexicon alone, the learned classifier alone, both, and both with
the screening question (what the assistant does).

Exits 1 when the *right level or more cautious* figure (assistant as shipped) of
a set named in --min is below its floor.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent

#: name: (file, how it was written and used)
SETS = {
    "written": (
        "tests/red_flags.yml",
        "written by the project; the lexicon was tuned on it and the classifier trains on it",
    ),
    "real": ("tests/red_flags_real.yml", "quoted from public pages; its misses were read once to add lexicon terms"),
    "real_blind": ("tests/red_flags_real_blind.yml", "quoted from other public pages; never used to tune"),
    "real_third": (
        "tests/red_flags_real_third.yml",
        "quoted from yet other public pages for this classifier; never used to tune",
    ),
}
#: sets whose misses may be printed (the others are never read message by message)
MISSES_SHOWN = ("written", "real")
DETECTORS = ("lexicon", "classifier", "both", "both + question")
SHIPPED = "both + question"


def parse_all(model: str, texts: Sequence[str]) -> List[dict]:
    # Rasa as shipped: footcare_server's changes make a turn faster, not a prediction different.
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # not every message's parse in the log
    agent = Agent.load(model)

    async def run_all():
        return [await agent.parse_message(t) for t in texts]

    return asyncio.run(run_all())


def triage(findings: dict, expect: Sequence[str]) -> Dict[str, dict]:
    """{detector: {"ids": found, "asked": question or None, "level": level advised}} for one message."""
    from actions import safety
    from actions.safety import screening

    result = safety.check(findings)
    lexicon = [i for i in (findings or {}).get("red_flags") or []]
    learned = list(((findings or {}).get("learned") or {}).keys())
    out = {}
    for name, ids in (("lexicon", lexicon), ("classifier", learned), ("both", result.red_flags)):
        out[name] = {"ids": list(ids), "asked": None, "level": safety.level_of(ids)}
    question = screening.first_question(result, safety.Memory())
    level = safety.level_of(result.red_flags)
    if question and question.sign not in expect:  # No: the next question, if any
        screened = safety.Memory(screened=(question.id,))
        following = screening.next_question([question.id], screened, result)
        if following and following.sign in expect:
            level = safety.highest(level, safety.level_of([following.sign]))
    if question and question.sign in expect:
        level = safety.highest(level, safety.level_of([question.sign]))
    out[SHIPPED] = {"ids": result.red_flags, "asked": question.id if question else None, "level": level}
    return out


def score(model: str, names: Sequence[str]) -> Dict[str, dict]:
    from footnlp.warning_signs import read_examples

    sets = {name: read_examples(ROOT / SETS[name][0]) for name in names if (ROOT / SETS[name][0]).is_file()}
    texts = [t for ex in sets.values() for t in [p[0] for p in ex.positives] + list(ex.negatives)]
    parsed = iter(parse_all(model, texts))
    out = {}
    for name, ex in sets.items():
        rows = []
        for text, expect, level in ex.positives:
            rows.append((text, expect, level, triage(next(parsed).get("footcare_safety"), expect)))
        for text in ex.negatives:
            rows.append((text, (), None, triage(next(parsed).get("footcare_safety"), ())))
        out[name] = rows
    return out


def _at_least(level: Optional[str], wanted: str) -> bool:
    from actions.safety import LEVELS

    return level in LEVELS and LEVELS.index(level) <= LEVELS.index(wanted)


def figures(rows, detector: str) -> dict:
    positives = [r for r in rows if r[2]]
    negatives = [r for r in rows if not r[2]]
    per_level = defaultdict(lambda: defaultdict(int))
    for _, _, level, result in positives:
        got = result[detector]
        counts = per_level[level]
        counts["n"] += 1
        counts["caught"] += bool(got["ids"] or got["asked"])
        counts["right"] += _at_least(got["level"], level)
        counts["asked"] += bool(got["asked"])
    total = defaultdict(int)
    for counts in per_level.values():
        for k, v in counts.items():
            total[k] += v
    return {
        "positives": len(positives),
        "negatives": len(negatives),
        "per_level": per_level,
        "total": total,
        "false_alarms": sum(bool(r[3][detector]["ids"]) for r in negatives),
        "neg_asked": sum(bool(r[3][detector]["asked"]) for r in negatives),
    }


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}% ({a}/{b})" if b else "n/a"


def print_report(results: Dict[str, list], misses: bool, described: Optional[Dict[str, tuple]] = None) -> None:
    """The figures per set; `described`: {set: (file, how it was written)}, by default SETS."""
    from actions.safety import LEVELS

    described = described or SETS
    for name, rows in results.items():
        print(f"\nWarning signs, {name} ({described[name][0]}: {described[name][1]})")
        for detector in DETECTORS:
            f = figures(rows, detector)
            t = f["total"]
            print(
                f"  {detector:16s} caught {_pct(t['caught'], t['n'])}, right level or more cautious {_pct(t['right'], t['n'])}, "
                f"under-triaged {_pct(t['n'] - t['right'], t['n'])}, questions {_pct(t['asked'], t['n'])}; "
                f"look-alikes: false alarms {_pct(f['false_alarms'], f['negatives'])}, questions {_pct(f['neg_asked'], f['negatives'])}"
            )
        f = figures(rows, SHIPPED)
        for level in LEVELS:
            c = f["per_level"].get(level)
            if c:
                print(
                    f"    {level:9s} caught {_pct(c['caught'], c['n'])}, right level or more cautious {_pct(c['right'], c['n'])}, "
                    f"under-triaged {_pct(c['n'] - c['right'], c['n'])}, questions {_pct(c['asked'], c['n'])}"
                )
        if misses and name in MISSES_SHOWN:
            for text, _, level, result in rows:
                got = result[SHIPPED]
                if level and not _at_least(got["level"], level):
                    print(f"    UNDER {level} -> {got['level']} {got['ids']} asked={got['asked']}: {text[:160]!r}")
                elif not level and got["ids"]:
                    print(f"    ALARM {got['ids']}: {text[:160]!r}")


SECTION = (
    """## Warning signs: triage per set

Each message goes through the trained model as a first message. *Caught*: a warning sign found or
a screening question asked; *right level or more cautious*: the advice given (after the question,
if one was asked) is at least as urgent as the set's level; *under-triaged*: the rest. A question
is answered Yes when its sign is one of the message's own (then its level counts), otherwise No
(and then the second question, if the assistant asks one, the same way).
On look-alikes: an alarm is any warning sign raised; *asked*: a screening question. Detectors: the
lexicon alone, the learned classifier alone, both, and both with the screening question (what the
assistant does). The classifier's thresholds come from cross-validation on its training data only
(none of these sets but the written one is trained on).

How the sets were written:

| set | file | written how |
| --- | --- | --- |
"""
    + "\n".join(f"| {name} | `{path}` | {how} |" for name, (path, how) in SETS.items())
    + """

The real training messages (`data/warning_signs/real*.yml`) are quoted from other pages than any
test set; `scripts/check_sources.py` (in `make validate`) holds that split by address, and no
warning-sign test message is in a training file. `data/warning_signs/written.yml` and
`descriptions.yml` were written for training by the project.

"""
)


def markdown(results: Dict[str, list]) -> str:
    lines = [
        SECTION,
        "| set (signs / look-alikes) | detector | caught | right level or more cautious | under-triaged | questions | look-alikes with an alarm | look-alikes asked |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    per_level = [
        "",
        "By level, the assistant as shipped (both + question):",
        "",
        "| set | level | caught | right level or more cautious | under-triaged | questions |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in results.items():
        for detector in DETECTORS:
            f = figures(rows, detector)
            t, n = f["total"], f["total"]["n"]
            mark = " **(shipped)**" if detector == SHIPPED else ""
            lines.append(
                f"| {name} ({f['positives']} / {f['negatives']}) | {detector}{mark} | {_pct(t['caught'], n)} | {_pct(t['right'], n)} | "
                f"{_pct(n - t['right'], n)} | {_pct(t['asked'], n)} | {_pct(f['false_alarms'], f['negatives'])} | {_pct(f['neg_asked'], f['negatives'])} |"
            )
        from actions.safety import LEVELS

        shipped = figures(rows, SHIPPED)["per_level"]
        for level in LEVELS:
            c = shipped.get(level)
            if c:
                per_level.append(
                    f"| {name} | {level} | {_pct(c['caught'], c['n'])} | {_pct(c['right'], c['n'])} | "
                    f"{_pct(c['n'] - c['right'], c['n'])} | {_pct(c['asked'], c['n'])} |"
                )
    return "\n".join(lines + per_level)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument(
        "--min",
        nargs="*",
        default=[],
        metavar="SET=FLOOR",
        help="floors for 'right level or more cautious' (assistant as shipped)",
    )
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        help="also write the table for docs/evaluation.md to FILE ('-': print only the table)",
    )
    parser.add_argument(
        "--misses", action="store_true", help="print under-triaged messages and alarms (never for the third set)"
    )
    args = parser.parse_args()
    results = score(args.model, args.sets)
    if args.markdown == "-":
        print(markdown(results))
        return 0
    if args.markdown:
        Path(args.markdown).write_text(markdown(results) + "\n", encoding="utf-8")
    print_report(results, args.misses)
    failed = []
    for item in args.min:
        name, _, floor = item.partition("=")
        if name not in results:
            continue
        f = figures(results[name], SHIPPED)["total"]
        if f["right"] / f["n"] < float(floor):
            failed.append(f"{name}: {f['right'] / f['n']:.1%} below the floor {float(floor):.0%}")
    for line in failed:
        print(f"FAILED {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
