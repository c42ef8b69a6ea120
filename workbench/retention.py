"""Deleting conversations: old ones (retention) and one person's (erasure).

Retention works session by session. Rasa starts a new session (an
`action_session_start` event) after the idle time set in domain.yml; a session
whose every event is older than the cut-off is deleted, and a conversation whose
sessions are all old disappears completely. A session still going on at the
cut-off is kept whole until it is old itself, so a live conversation is never
cut in the middle and the Rasa server can always rebuild it. What a new session
carried over from deleted ones (the condition, red flags, contraindications:
Rasa copies every slot into a new session) is deleted with them.

Review reports that quote a deleted message are removed too, whatever their
age, and so are reports older than the retention period.

Both commands delete in small transactions (DELETE_BATCH rows each), so the
Rasa server, which writes to the same store, never waits long for them; they
are safe to run while the server is up and safe to repeat (a second run finds
nothing to do). The database files are then compacted (see
`workbench.store.Store.reclaim_space` for what that does and does not remove).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import sqlalchemy as sa

from workbench.store import SESSION_START, Store

logger = logging.getLogger(__name__)

DAY_S = 24 * 3600
# How much of a message must appear in a report for the report to count as quoting it; a
# shorter message counts when it is a whole table cell or list line of the report.
QUOTE_CHARS, MIN_QUOTE_CHARS = 60, 12
# Rows deleted per transaction.
DELETE_BATCH = 500


@dataclass
class Deleted:
    conversations: int = 0  # conversations removed completely
    trimmed: int = 0  # conversations that lost old sessions but are still going
    events: int = 0
    reports: list[str] = field(default_factory=list)
    # What compacting the database left undone (e.g. a reader kept SQLite's log from being emptied).
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"deleted {self.events} events: {self.conversations} conversations removed, {self.trimmed} shortened"
        if self.reports:
            text += f"; removed {len(self.reports)} report file(s)"
        for problem in self.problems:
            text += f"; WARNING: {problem}"
        return text


def _old_parts(store: Store, cutoff: float) -> dict[str, tuple[int, bool]]:
    """For each conversation with events before the cut-off: (delete the events with an id below this,
    whether that is the whole conversation as it was read).

    The bound is an id, not "everything of this sender", so a message that arrives while the purge
    runs (the person came back) is never deleted with the old ones.
    """
    table = store.events
    result: dict[str, tuple[int, bool]] = {}
    with store.engine.connect() as conn:
        old_senders = list(
            conn.execute(sa.select(table.c.sender_id).where(table.c.timestamp < cutoff).distinct()).scalars()
        )
        for sender in old_senders:
            first_recent, last = conn.execute(
                sa.select(
                    sa.func.min(sa.case((table.c.timestamp >= cutoff, table.c.id), else_=None)),
                    sa.func.max(table.c.id),
                ).where(table.c.sender_id == sender)
            ).one()
            if first_recent is None:
                result[sender] = (last + 1, True)
                continue
            # The start of the session that the first recent event belongs to.
            session_start = conn.execute(
                sa.select(sa.func.max(table.c.id)).where(
                    table.c.sender_id == sender,
                    table.c.id <= first_recent,
                    table.c.type_name == "action",
                    table.c.action_name == SESSION_START,
                )
            ).scalar()
            if session_start is not None:
                result[sender] = (session_start, False)
    return result


def purge(
    store: Store, days: float, now: Optional[float] = None, reports_dir: Optional[Path] = None, full: bool = False
) -> Deleted:
    """Deletes every session older than `days` days, the slots carried over from them, and review
    reports that quote a deleted message or are older than that. `full`: PostgreSQL's VACUUM FULL."""
    if days <= 0:
        raise ValueError("the retention period must be at least one day")
    cutoff = (now if now is not None else time.time()) - days * DAY_S
    deleted = Deleted()
    texts: list[str] = []
    if store.exists():
        table = store.events
        old = _old_parts(store, cutoff)
        for sender, (bound, whole) in old.items():
            texts += [
                e.data.get("text") or ""
                for e in store.iter_events(senders=[sender])
                if e.type_name == "user" and e.id < bound
            ]
            count = _delete_in_batches(store, sa.and_(table.c.sender_id == sender, table.c.id < bound))
            if not whole:
                count += _delete_in_batches(store, table.c.id.in_(_carried_over_rows(store, sender)))
            if count:
                deleted.events += count
                if whole:
                    deleted.conversations += 1
                else:
                    deleted.trimmed += 1
        if deleted.events:
            _reclaim(store, deleted, full)
    if reports_dir is not None and reports_dir.is_dir():
        deleted.reports = _remove_reports_quoting(reports_dir, texts)
        for path in sorted(reports_dir.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted.reports.append(path.name)
    return deleted


def _delete_in_batches(store: Store, where: Any) -> int:
    """Deletes the rows matching `where`, DELETE_BATCH rows per transaction; returns how many."""
    table, total = store.events, 0
    while True:
        with store.engine.begin() as conn:
            ids = list(
                conn.execute(sa.select(table.c.id).where(where).order_by(table.c.id).limit(DELETE_BATCH)).scalars()
            )
            if ids:
                total += conn.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount or 0
        if len(ids) < DELETE_BATCH:
            return total


def _carried_over_rows(store: Store, sender: str) -> list[int]:
    """The ids of the slot events at session starts whose value came from deleted sessions.

    Rasa starts a session with `action_session_start`, `session_started`, one `slot` event per
    slot it carries over, then `action_listen`. A carried value is kept when what is left of the
    conversation set it before; otherwise it was carried over from a deleted session.
    """
    known: dict[str, Any] = {}
    carried: list[int] = []
    at_session_start = False
    for event in store.iter_events(senders=[sender]):
        if event.type_name == "session_started":
            at_session_start = True
        elif event.type_name == "slot":
            name, value = event.data.get("name"), event.data.get("value")
            if at_session_start and known.get(name, _UNSET) != value:
                carried.append(event.id)
            else:
                known[name] = value
        elif event.type_name == "restart":
            known.clear()
        elif event.type_name == "action" and event.name != SESSION_START:
            at_session_start = False
    return carried


_UNSET = object()


def erase(store: Store, sender_id: str, reports_dir: Optional[Path] = None) -> Deleted:
    """Deletes every event of one conversation, and reports that quote its messages."""
    deleted = Deleted()
    if not store.exists():
        return deleted
    texts = [e.data.get("text") or "" for e in store.iter_events(senders=[sender_id]) if e.type_name == "user"]
    deleted.events = _delete_in_batches(store, store.events.c.sender_id == sender_id)
    if deleted.events:
        deleted.conversations = 1
        _reclaim(store, deleted)
    if reports_dir is not None:
        deleted.reports = _remove_reports_quoting(reports_dir, texts)
    return deleted


def stored_ids_like(store: Store, sender_id: str) -> list[str]:
    """The stored conversation ids that are `<channel>:<sender_id>` (for an id given without its channel)."""
    from channels.inputs import CHANNEL_PREFIXES

    wanted = {f"{prefix}:{sender_id}" for prefix in CHANNEL_PREFIXES}
    return sorted(s for s in store.sender_ids() if s in wanted)


def find_conversations(store: Store, needle: str) -> list[tuple[str, int, float]]:
    """Conversations whose user messages contain `needle` (case-insensitive): (sender id, messages, last time)."""
    needle = needle.casefold().strip()
    found: dict[str, tuple[int, float]] = {}
    if not needle:
        return []
    for event in store.iter_events():
        if event.type_name == "user" and needle in (event.data.get("text") or "").casefold():
            count, last = found.get(event.sender_id, (0, 0.0))
            found[event.sender_id] = (count + 1, max(last, event.timestamp))
    return [(sender, count, last) for sender, (count, last) in sorted(found.items(), key=lambda item: -item[1][1])]


def _remove_reports_quoting(reports_dir: Path, texts: list[str]) -> list[str]:
    """Removes review reports and exports that quote any of `texts` (as they show them: masked, maybe escaped).

    A message of MIN_QUOTE_CHARS or more counts when its first QUOTE_CHARS characters appear
    anywhere; a shorter one ("hi", "my heel") only as a whole table cell of the HTML report or a
    whole line of a YAML / text export, so that every report is not removed for a common word.
    """
    import html
    import re

    from workbench.privacy import quotable

    shown = {quotable(t) for t in texts} - {""}
    long = {q[:QUOTE_CHARS] for q in shown if len(q) >= MIN_QUOTE_CHARS}
    long |= {html.escape(q) for q in long}
    short = {q for q in shown if len(q) < MIN_QUOTE_CHARS}
    cells = {f"<td>{html.escape(q)}</td>" for q in short}
    lines = (
        re.compile("|".join(rf"^[ \t]*(?:- )?{re.escape(q)}[ \t]*$" for q in short), re.MULTILINE) if short else None
    )
    removed: list[str] = []
    if not shown or not reports_dir.is_dir():
        return removed
    for path in sorted(reports_dir.iterdir()):
        if not path.is_file() or path.suffix not in {".html", ".txt", ".yml", ".yaml", ".csv", ".md"}:
            continue
        content = path.read_text(errors="replace")
        if any(q in content for q in long | cells) or (lines is not None and lines.search(content)):
            path.unlink()
            removed.append(path.name)
    return removed


def _reclaim(store: Store, deleted: Deleted, full: bool = False) -> None:
    try:
        deleted.problems += store.reclaim_space(full=full)
    except sa.exc.SQLAlchemyError as exc:  # e.g. no VACUUM rights on PostgreSQL; autovacuum does it later
        logger.warning("Deleted, but could not compact the database now (%s)", exc.__class__.__name__)
        deleted.problems.append(f"could not compact the database now ({exc.__class__.__name__})")
