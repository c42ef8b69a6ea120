"""Deleting conversations: old ones (retention) and one person's (erasure).

Retention works session by session. Rasa starts a new session (an
`action_session_start` event) after the idle time set in domain.yml; a session
whose every event is older than the cut-off is deleted, and a conversation whose
sessions are all old disappears completely. A session still going on at the
cut-off is kept whole until it is old itself, so a live conversation is never
cut in the middle and the Rasa server can always rebuild it.

Both commands delete in one transaction, so they are safe to run while the
server is up and safe to repeat (a second run finds nothing to do). On SQLite
the file is then compacted (VACUUM) so the deleted text cannot be recovered
from it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import sqlalchemy as sa

from workbench.store import SESSION_START, Store

logger = logging.getLogger(__name__)

DAY_S = 24 * 3600
# How much of a message must appear in a report for the report to count as quoting it.
QUOTE_CHARS, MIN_QUOTE_CHARS = 60, 12


@dataclass
class Deleted:
    conversations: int = 0  # conversations removed completely
    trimmed: int = 0  # conversations that lost old sessions but are still going
    events: int = 0
    reports: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"deleted {self.events} events: {self.conversations} conversations removed, {self.trimmed} shortened"
        if self.reports:
            text += f"; removed {len(self.reports)} report file(s)"
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
        old_senders = list(conn.execute(sa.select(table.c.sender_id).where(table.c.timestamp < cutoff).distinct()).scalars())
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


def purge(store: Store, days: float, now: Optional[float] = None, reports_dir: Optional[Path] = None) -> Deleted:
    """Deletes every session older than `days` days (and review reports older than that)."""
    if days <= 0:
        raise ValueError("the retention period must be at least one day")
    cutoff = (now if now is not None else time.time()) - days * DAY_S
    deleted = Deleted()
    if store.exists():
        table = store.events
        old = _old_parts(store, cutoff)
        with store.engine.begin() as conn:
            for sender, (bound, whole) in old.items():
                count = conn.execute(sa.delete(table).where(table.c.sender_id == sender, table.c.id < bound)).rowcount or 0
                if count:
                    deleted.events += count
                    if whole:
                        deleted.conversations += 1
                    else:
                        deleted.trimmed += 1
        if deleted.events:
            _reclaim(store)
    if reports_dir is not None and reports_dir.is_dir():
        for path in sorted(reports_dir.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted.reports.append(path.name)
    return deleted


def erase(store: Store, sender_id: str, reports_dir: Optional[Path] = None) -> Deleted:
    """Deletes every event of one conversation, and reports that quote its messages."""
    deleted = Deleted()
    if not store.exists():
        return deleted
    texts = [e.data.get("text") or "" for e in store.iter_events(senders=[sender_id]) if e.type_name == "user"]
    with store.engine.begin() as conn:
        deleted.events = conn.execute(sa.delete(store.events).where(store.events.c.sender_id == sender_id)).rowcount or 0
    if deleted.events:
        deleted.conversations = 1
        _reclaim(store)
    if reports_dir is not None:
        deleted.reports = _remove_reports_quoting(reports_dir, texts)
    return deleted


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
    """Removes review reports and exports that quote any of `texts` (as they show them: masked, maybe escaped)."""
    import html

    from workbench.privacy import quotable

    quoted = {q for t in texts for q in (quotable(t)[:QUOTE_CHARS],) if len(q) >= MIN_QUOTE_CHARS}
    quoted |= {html.escape(q) for q in quoted}
    removed: list[str] = []
    if not quoted or not reports_dir.is_dir():
        return removed
    for path in sorted(reports_dir.iterdir()):
        if not path.is_file() or path.suffix not in {".html", ".txt", ".yml", ".yaml", ".csv", ".md"}:
            continue
        content = path.read_text(errors="replace")
        if any(q in content for q in quoted):
            path.unlink()
            removed.append(path.name)
    return removed


def _reclaim(store: Store) -> None:
    try:
        store.reclaim_space()
    except sa.exc.SQLAlchemyError as exc:  # e.g. no VACUUM rights on PostgreSQL; autovacuum does it later
        logger.warning("Deleted, but could not compact the database now (%s)", exc.__class__.__name__)
