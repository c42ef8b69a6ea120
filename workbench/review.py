"""The conversation review: what people asked, and where the assistant struggled.

`build(store)` reads every conversation from the tracker store and returns a
`Review`; `text_report`, `html_report`, `topics_chart` and `unclear_nlu_yaml`
present it. A conversation here is one Rasa session (a new one starts after the
idle time in domain.yml). Nothing shown names a sender id: conversations are
numbered in the order they started, and message texts are masked
(see workbench.privacy).
"""

from __future__ import annotations

import base64
import io
import itertools
import re
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

from workbench.privacy import EMAIL_MASK, PHONE_MASK, quotable
from workbench.store import SESSION_START, Event, Store
from workbench.templates import render

FALLBACK_INTENT = "nlu_fallback"
# Messages below this confidence are listed as unclear even when the bot answered them.
LOW_CONFIDENCE = 0.6
# A message within this many seconds of the bot's answer can be a rephrasing.
REPHRASE_WINDOW_S = 120
REPHRASE_OVERLAP = 0.5
# Intents that repeat naturally ("yes", "thanks") and say nothing about a misunderstanding.
SMALL_TALK = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"}
STOPWORDS = set(
    "a an and are about can could do does for from have how i if in is it me my of on or please should "
    "so that the this to what when where which will with would you your".split()
)
LOWEST_SHOWN = 15


@dataclass
class Turn:
    """One user message and what the assistant did with it."""

    conversation: int
    when: float
    text: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]
    entities: list[dict[str, Any]]
    channel: str
    actions: list[str] = field(default_factory=list)
    replied: bool = False
    topic: Optional[str] = None
    new_red_flags: list[str] = field(default_factory=list)
    new_contraindications: list[str] = field(default_factory=list)

    @property
    def is_payload(self) -> bool:
        """A button press or a typed /intent, not words the model had to read."""
        return self.text.startswith("/")

    @property
    def fell_back(self) -> bool:
        return self.intent == FALLBACK_INTENT or "action_fallback" in self.actions

    @property
    def out_of_scope(self) -> bool:
        return self.intent == "out_of_scope" or "action_out_of_scope" in self.actions

    @property
    def model_confidence(self) -> float:
        """The confidence of the model's best real intent (FallbackClassifier replaces it with its threshold)."""
        best = next(((name, conf) for name, conf in self.ranking if name != FALLBACK_INTENT), None)
        return best[1] if best else self.confidence

    @property
    def suggested_intent(self) -> Optional[tuple[str, float]]:
        """The model's runner-up: its best intent other than the one it picked (and never nlu_fallback)."""
        return next(((n, c) for n, c in self.ranking if n not in (FALLBACK_INTENT, self.intent)), None)

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.when).date()

    @property
    def conditions(self) -> set[str]:
        return {str(e.get("value")) for e in self.entities if e.get("entity") == "condition"}

    @property
    def quoted(self) -> str:
        return quotable(self.text)


@dataclass
class Unclear:
    """A message worth adding to the training data, with how often it came."""

    text: str  # already masked
    count: int
    understood: str
    confidence: float
    suggested: Optional[str]
    suggested_confidence: float
    why: str


@dataclass
class Rephrasing:
    conversation: int
    answer: str
    first: Turn
    second: Turn


@dataclass
class Review:
    source: str
    generated: datetime
    turns: list[Turn]
    conversations_started: dict[date, int]
    topic_titles: dict[str, str]
    rephrasings: list[Rephrasing]
    low_confidence: float = LOW_CONFIDENCE

    @property
    def conversation_count(self) -> int:
        return sum(self.conversations_started.values())

    @property
    def days(self) -> list[date]:
        return sorted(set(self.conversations_started) | {t.day for t in self.turns})

    def messages_per_day(self) -> dict[date, int]:
        counts = Counter(t.day for t in self.turns)
        return {d: counts.get(d, 0) for d in self.days}

    def topics(self) -> Counter:
        return Counter(t.topic for t in self.turns if t.topic)

    def topics_by_day(self) -> dict[date, Counter]:
        by_day: dict[date, Counter] = defaultdict(Counter)
        for t in self.turns:
            if t.topic:
                by_day[t.day][t.topic] += 1
        return {d: by_day.get(d, Counter()) for d in self.days}

    def channels(self) -> Counter:
        return Counter(t.channel or "unknown" for t in self.turns)

    def fallbacks(self) -> list[Turn]:
        return [t for t in self.turns if t.fell_back]

    def out_of_scope(self) -> list[Turn]:
        return [t for t in self.turns if t.out_of_scope and not t.fell_back]

    def lowest_confidence(self, limit: int = LOWEST_SHOWN) -> list[Turn]:
        typed = [t for t in self.turns if not t.is_payload and t.text.strip()]
        return sorted(typed, key=lambda t: (t.model_confidence, t.when))[:limit]

    def red_flags(self) -> Counter:
        return Counter(f for t in self.turns for f in t.new_red_flags)

    def contraindications(self) -> Counter:
        return Counter(c for t in self.turns for c in t.new_contraindications)

    def conversations_with(self, attribute: str) -> int:
        return len({t.conversation for t in self.turns if getattr(t, attribute)})

    def unclear(self) -> list[Unclear]:
        """Fallbacks, out-of-scope and low-confidence messages, once per (masked) text, most frequent first."""
        grouped: dict[str, list[Turn]] = defaultdict(list)
        for t in self.turns:
            if t.is_payload or not t.text.strip():
                continue
            if t.fell_back or t.out_of_scope or t.model_confidence < self.low_confidence:
                grouped[t.quoted.casefold()].append(t)
        result = []
        for turns in grouped.values():
            t = turns[-1]
            suggestion = t.suggested_intent
            why = "fell back" if t.fell_back else "out of scope" if t.out_of_scope else "low confidence"
            result.append(
                Unclear(
                    text=t.quoted,
                    count=len(turns),
                    understood=t.intent,
                    confidence=t.model_confidence,
                    suggested=suggestion[0] if suggestion else None,
                    suggested_confidence=suggestion[1] if suggestion else 0.0,
                    why=why,
                )
            )
        return sorted(result, key=lambda u: (-u.count, u.confidence))

    def topic_title(self, topic: Optional[str]) -> str:
        return self.topic_titles.get(topic or "", topic or "")


# ---------------------------------------------------------------- reading


def _ranking(parse_data: dict[str, Any]) -> list[tuple[str, float]]:
    ranking = []
    for item in parse_data.get("intent_ranking") or []:
        if isinstance(item, dict) and item.get("name"):
            ranking.append((str(item["name"]), float(item.get("confidence") or 0.0)))
    return ranking


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)] if value else []


def sessions(events: Iterable[Event]) -> list[list[Turn]]:
    """One sender's events as turns, split into sessions (conversations)."""
    result: list[list[Turn]] = []
    session: list[Turn] = []
    current: Optional[Turn] = None
    slots: dict[str, list[str]] = {"red_flags": [], "contraindications": []}
    for event in events:
        kind = event.type_name
        if kind == "action" and event.name == SESSION_START:
            if session:
                result.append(session)
            session, current = [], None
        elif kind == "user":
            parse = event.data.get("parse_data") or {}
            intent = parse.get("intent") or {}
            current = Turn(
                conversation=0,
                when=float(event.data.get("timestamp") or event.timestamp),
                text=str(event.data.get("text") or ""),
                intent=str(intent.get("name") or ""),
                confidence=float(intent.get("confidence") or 0.0),
                ranking=_ranking(parse),
                entities=[e for e in parse.get("entities") or [] if isinstance(e, dict)],
                channel=str(event.data.get("input_channel") or ""),
            )
            session.append(current)
        elif kind == "action" and current is not None and event.name and event.name != "action_listen":
            current.actions.append(event.name)
        elif kind == "bot" and current is not None:
            current.replied = True
        elif kind == "slot":
            name, value = event.data.get("name"), event.data.get("value")
            if name in slots:
                # Both slots only grow within a conversation: what is new is what this message added.
                new = [v for v in _as_list(value) if v not in slots[name]]
                slots[name] = _as_list(value)
                if current is not None and new:
                    target = current.new_red_flags if name == "red_flags" else current.new_contraindications
                    target.extend(v for v in new if v not in target)
            elif name == "topic" and current is not None and value:
                current.topic = str(value)
    if session:
        result.append(session)
    return result


def _tokens(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 2 and w not in STOPWORDS}


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of the content words of two messages."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def is_rephrasing(first: Turn, second: Turn, window_s: float = REPHRASE_WINDOW_S) -> bool:
    """`second` repeats `first` in other words, soon after the bot answered `first`."""
    if not first.replied or first.is_payload or second.is_payload:
        return False
    if not 0 <= second.when - first.when <= window_s:
        return False
    if second.conditions - first.conditions:
        return False  # the same question for another condition is a new question
    if first.intent == second.intent:
        return first.intent not in SMALL_TALK  # "yes" after "yes" is no rephrasing
    return overlap(first.text, second.text) >= REPHRASE_OVERLAP


def _answer_label(turn: Turn, titles: dict[str, str]) -> str:
    if turn.fell_back:
        return "fallback (asked to rephrase)"
    if turn.topic:
        return titles.get(turn.topic, turn.topic)
    actions = [a for a in turn.actions if a.startswith("action_") or a.startswith("utter_")]
    return actions[-1] if actions else "(no action)"


def default_topic_titles() -> dict[str, str]:
    try:
        from footcare_content.knowledge import knowledge

        return {t.id: t.title for t in knowledge().topics.values()}
    except Exception:  # a broken content file must not stop the review
        return {}


def build(
    store: Store,
    since: Optional[float] = None,
    topic_titles: Optional[dict[str, str]] = None,
    low_confidence: float = LOW_CONFIDENCE,
    now: Optional[datetime] = None,
) -> Review:
    titles = default_topic_titles() if topic_titles is None else topic_titles
    all_sessions: list[list[Turn]] = []
    for _, events in itertools.groupby(store.iter_events(since=since), key=lambda e: e.sender_id):
        all_sessions.extend(sessions(events))
    if since is not None:
        all_sessions = [[t for t in s if t.when >= since] for s in all_sessions]
    all_sessions = sorted((s for s in all_sessions if s), key=lambda s: s[0].when)
    turns: list[Turn] = []
    started: Counter = Counter()
    rephrasings: list[Rephrasing] = []
    for number, session in enumerate(all_sessions, start=1):
        started[session[0].day] += 1
        for turn in session:
            turn.conversation = number
        for first, second in zip(session, session[1:]):
            if is_rephrasing(first, second):
                rephrasings.append(Rephrasing(number, _answer_label(first, titles), first, second))
        turns.extend(session)
    return Review(
        source=store.describe(),
        generated=now or datetime.now(),
        turns=sorted(turns, key=lambda t: t.when),
        conversations_started=dict(started),
        topic_titles=titles,
        rephrasings=rephrasings,
        low_confidence=low_confidence,
    )


# ---------------------------------------------------------------- presenting


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _suggestion(name: Optional[str], confidence: float) -> str:
    return f"{name} ({confidence:.2f})" if name else "-"


@dataclass
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    numeric: Sequence[int] = ()  # right-aligned columns (HTML)
    title: str = ""  # a sub-heading, when a section has several tables


@dataclass
class Section:
    """One part of the report; `text_report` and `html_report` render the same list of them."""

    title: str
    tables: list[Table]
    note: str = ""  # plain text; `code` in backticks
    chart: bool = False  # the topics chart goes here (HTML)


def summary_rows(review: Review) -> list[tuple[str, str]]:
    messages = len(review.turns)
    return [
        ("conversations", str(review.conversation_count)),
        ("user messages", str(messages)),
        ("answers on a topic", str(sum(review.topics().values()))),
        ("fell back (not understood)", f"{len(review.fallbacks())} ({_pct(len(review.fallbacks()), messages)})"),
        ("out of scope", f"{len(review.out_of_scope())} ({_pct(len(review.out_of_scope()), messages)})"),
        ("conversations with a red flag", str(review.conversations_with("new_red_flags"))),
        ("conversations with a contraindication", str(review.conversations_with("new_contraindications"))),
        ("answers followed by a rephrasing", str(len(review.rephrasings))),
    ]


def sections(review: Review) -> list[Section]:
    """What the report shows, in order."""
    msgs = review.messages_per_day()
    unclear = review.unclear()
    return [
        Section("Summary", [Table(["figure", "value"], summary_rows(review), numeric=[1])]),
        Section(
            "Conversations and messages per day",
            [
                Table(
                    ["day", "conversations", "messages"],
                    [(d.isoformat(), review.conversations_started.get(d, 0), msgs[d]) for d in review.days],
                    numeric=[1, 2],
                )
            ],
        ),
        Section(
            "Topics asked",
            [
                Table(
                    ["topic", "answers"],
                    [(review.topic_title(t), n) for t, n in review.topics().most_common()],
                    numeric=[1],
                )
            ],
            chart=True,
        ),
        Section("Channels", [Table(["channel", "messages"], review.channels().most_common(), numeric=[1])]),
        Section(
            "Red flags and contraindications detected",
            [
                Table(["sign", "messages"], review.red_flags().most_common(), numeric=[1], title="Red flags"),
                Table(
                    ["condition", "messages"],
                    review.contraindications().most_common(),
                    numeric=[1],
                    title="Contraindications",
                ),
            ],
            note="Counted once per message that first mentioned them in a conversation.",
        ),
        Section(
            "Messages that fell back or were out of scope",
            [
                Table(
                    ["day", "conv.", "what happened", "understood as", "message"],
                    [
                        (
                            t.day.isoformat(),
                            t.conversation,
                            "fell back" if t.fell_back else "out of scope",
                            t.intent,
                            t.quoted,
                        )
                        for t in review.fallbacks() + review.out_of_scope()
                    ],
                    numeric=[1],
                )
            ],
        ),
        Section(
            "Lowest-confidence messages",
            [
                Table(
                    ["confidence", "understood as", "runner-up", "message"],
                    [
                        (
                            f"{t.model_confidence:.2f}",
                            t.intent,
                            _suggestion(*(t.suggested_intent or (None, 0.0))),
                            t.quoted,
                        )
                        for t in review.lowest_confidence()
                    ],
                    numeric=[0],
                )
            ],
            note="The confidence of the model's best intent (before the fallback threshold).",
        ),
        Section(
            f"Unclear messages to add to the training data ({len(unclear)})",
            [
                Table(
                    ["times", "why", "understood as", "suggested intent", "message"],
                    [
                        (u.count, u.why, u.understood, _suggestion(u.suggested, u.suggested_confidence), u.text)
                        for u in unclear
                    ],
                    numeric=[0],
                )
            ],
            note=f"Messages that fell back, were out of scope or had a confidence below {review.low_confidence:.2f}. "
            "The suggested intent is the model's runner-up; check it before adding the message under that intent "
            "in `data/nlu/`. `reports/unclear_nlu.yml` holds them in Rasa's format.",
        ),
        Section(
            f"Answers followed by the user rephrasing ({len(review.rephrasings)})",
            [
                Table(
                    ["conv.", "answer given", "message", "then, rephrased"],
                    [(r.conversation, r.answer, r.first.quoted, r.second.quoted) for r in review.rephrasings],
                    numeric=[0],
                )
            ],
            note=f"The next message came within {REPHRASE_WINDOW_S} s of the answer and had the same intent "
            f"or shared at least {REPHRASE_OVERLAP:.0%} of its words: the answer may have missed the question.",
        ),
    ]


NO_CONVERSATIONS = "No conversations stored yet."


def text_report(review: Review) -> str:
    """The report for the terminal."""
    out = [f"Conversation review, {review.generated:%Y-%m-%d %H:%M} (from the {review.source})", ""]
    if not review.turns:
        return "\n".join(out + [NO_CONVERSATIONS]) + "\n"
    for section in sections(review):
        out.append(section.title)
        if section.note:
            out += textwrap.wrap(section.note.replace("`", ""), 100, initial_indent="  ", subsequent_indent="  ")
        for table in section.tables:
            if table.title:
                out.append(f" {table.title}")
            out += _table(table.headers, table.rows) if table.rows else ["  none"]
        out.append("")
    return "\n".join(out)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [min(60, max(len(r[i]) for r in cells)) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join((c if len(c) <= 60 else c[:59] + "…").ljust(w) for c, w in zip(row, widths)).rstrip()

    return ["  " + line(cells[0]), "  " + "  ".join("-" * w for w in widths)] + ["  " + line(r) for r in cells[1:]]


def topics_chart(review: Review) -> Optional[bytes]:
    """A PNG: answers per topic and day, as stacked bars. None when no topic was asked."""
    by_day = review.topics_by_day()
    topics = [t for t, _ in review.topics().most_common()]
    if not topics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    days = list(by_day)
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    bottom = [0] * len(days)
    colors = plt.get_cmap("tab10").colors
    for i, topic in enumerate(topics):
        values = [by_day[d].get(topic, 0) for d in days]
        ax.bar(days, values, bottom=bottom, width=0.8, label=review.topic_title(topic), color=colors[i % len(colors)])
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title("Topics asked per day")
    ax.set_ylabel("answers")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    if len(days) == 1:
        ax.set_xlim(days[0] - timedelta(days=1), days[0] + timedelta(days=1))
    fig.autofmt_xdate()
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _note_parts(note: str) -> list[tuple[bool, str]]:
    """A section's note as (is code, text) pieces: `backquoted` words are shown as code."""
    return [(i % 2 == 1, piece) for i, piece in enumerate(note.split("`")) if piece]


def html_report(review: Review, chart_png: Optional[bytes] = None) -> str:
    """A self-contained HTML page (the chart is embedded)."""
    chart = base64.b64encode(chart_png).decode() if chart_png else ""
    shown = [
        {
            "title": section.title,
            "note": _note_parts(section.note) if section.note else [],
            "chart": chart if section.chart else "",
            "tables": [
                {
                    "title": t.title,
                    "headers": [str(h) for h in t.headers],
                    "rows": [[str(c) for c in r] for r in t.rows],
                    "numeric": set(t.numeric),
                }
                for t in section.tables
            ],
        }
        for section in (sections(review) if review.turns else [])
    ]
    return render(
        "review.html.j2",
        made_day=f"{review.generated:%Y-%m-%d}",
        made=f"{review.generated:%Y-%m-%d %H:%M}",
        source=review.source,
        empty=NO_CONVERSATIONS,
        sections=shown,
    )


def unclear_nlu_yaml(review: Review) -> str:
    """The unclear messages as Rasa NLU training data, grouped by suggested intent, for a person to check."""
    import yaml

    groups: dict[str, list[str]] = defaultdict(list)
    for u in review.unclear():
        if u.suggested and EMAIL_MASK not in u.text and PHONE_MASK not in u.text and not u.text.endswith("…"):
            groups[u.suggested].append(u.text)
    header = (
        "# Messages the assistant did not understand well, under the intent the model suggests.\n"
        "# Check every line: move it to the right intent (or out_of_scope) or delete it, then copy it into data/nlu/.\n"
        "# Messages with masked contact details are left out.\n"
    )
    nlu = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)} for intent, texts in sorted(groups.items())
    ]

    class _Literal(str):
        pass

    dumper = type("Dumper", (yaml.SafeDumper,), {})
    dumper.add_representer(_Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|"))
    for item in nlu:
        item["examples"] = _Literal(item["examples"])
    return header + yaml.dump({"version": "3.1", "nlu": nlu}, Dumper=dumper, sort_keys=False, allow_unicode=True)
