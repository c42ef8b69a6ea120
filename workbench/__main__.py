"""The therapists' tools: `python -m workbench <command> [options]` (the make targets run these).

  review    the conversation review report (`make review`)
  answers   every answer of content/knowledge.yml, to sign off (`make answers`)
  purge     delete conversations older than the retention period (`make purge`, safe from cron)
  erase     delete one person's conversation, by sender id (`make erase`)

`python -m workbench <command> --help` lists a command's options. Exit status 0 on
success, 2 on a usage error or when the tracker store cannot be read; erase also
exits 1 when nothing matched.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from workbench.cli import quiet

quiet()

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
DEFAULT_RETENTION_DAYS = 30

REVIEW_HELP = """\
Reads every conversation from the tracker store in the endpoints file (the one
the Rasa server uses), prints the figures and writes, into --out (reports/):
  review.html          the report, readable in a browser (the chart is inside)
  topics_over_time.png the chart of topics asked per day
  unclear_nlu.yml      the unclear messages in Rasa's training-data format, to check and copy
The reports hold message texts (masked, never sender ids): they are health data,
kept only for the retention period (`make purge` removes older ones)."""

PURGE_HELP = """\
Deletes, in small transactions, every conversation session whose last event is
older than --days (default: $FOOTCARE_RETENTION_DAYS, else 30) from the tracker
store in the endpoints file, with the slots later sessions carried over from
them, compacts the database (SQLite: VACUUM and an emptied write-ahead log;
PostgreSQL: VACUUM, or VACUUM FULL with --full), and removes review reports in
reports/ that quote a deleted message or are older than that. Running it again
does nothing more; it never asks questions. Prints one line (nothing with
--quiet unless something was deleted); exit status 0 on success, 2 when the
tracker store cannot be read.

Example crontab line (every night at 03:15):
  15 3 * * *  cd /srv/footcare && .venv/bin/python -m workbench purge --quiet"""

ERASE_HELP = """\
  python -m workbench erase SENDER_ID     delete every stored event of that conversation
  python -m workbench erase --find TEXT   list the sender ids whose messages contain TEXT
                                          (for a person who tells you what they wrote, e.g. their phone number)

Sender ids name their channel: `web:<session id>` for the website widget,
`telegram:<chat id>` for Telegram, `rest:<sender>` for REST. An id given
without its channel is looked up under each channel; when it matches one
conversation that one is erased, when it matches several they are listed. Review reports that quote the person's messages are removed
too (run `make review` again). The tracker store is the one in the endpoints file."""


# --- review -----------------------------------------------------------------------------------


def write_private(path: Path, data: bytes) -> None:
    """Writes a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def review_arguments(parser: argparse.ArgumentParser) -> None:
    from workbench import review as rv
    from workbench.store import DEFAULT_ENDPOINTS

    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="endpoints file naming the tracker store")
    parser.add_argument("--out", default=str(REPORTS), help="folder for the report files (default: reports/)")
    parser.add_argument("--days", type=float, default=None, help="only conversations active in the last DAYS days")
    parser.add_argument(
        "--low-confidence",
        type=float,
        default=rv.LOW_CONFIDENCE,
        help=f"list messages below this confidence as unclear (default {rv.LOW_CONFIDENCE})",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the figures")


def review(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import time
    import warnings

    from workbench import review as rv
    from workbench.cli import store_problems_exit
    from workbench.store import connect

    with store_problems_exit("review"):
        store = connect(args.endpoints)
        since = time.time() - args.days * 86400 if args.days else None
        report = rv.build(store, since=since, low_confidence=args.low_confidence)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chart = rv.topics_chart(report)
    chart_path = out / "topics_over_time.png"
    if chart:
        write_private(chart_path, chart)
    elif chart_path.exists():
        chart_path.unlink()
    write_private(out / "review.html", rv.html_report(report, chart).encode("utf-8"))
    write_private(out / "unclear_nlu.yml", rv.unclear_nlu_yaml(report).encode("utf-8"))
    if not args.quiet:
        print(rv.text_report(report))
    written = [out / "review.html", *([chart_path] if chart else []), out / "unclear_nlu.yml"]
    print("Wrote " + ", ".join(os.path.relpath(p) for p in written))
    return 0


# --- answers ----------------------------------------------------------------------------------


def answers_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default=str(ROOT / "docs" / "answers.html"), help="where to write (default: docs/answers.html)"
    )


def answers(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from footcare_content.files import ContentError
    from workbench import answers as document

    try:
        path = document.write(Path(args.out))
    except ContentError as exc:
        print(f"answers: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {path} ({len(document.variants())} answers, content version {document.fingerprint()})")
    return 0


# --- purge ------------------------------------------------------------------------------------


def purge_arguments(parser: argparse.ArgumentParser) -> None:
    from workbench.store import DEFAULT_ENDPOINTS

    parser.add_argument(
        "--days",
        type=float,
        default=float(os.environ.get("FOOTCARE_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS),
        help="keep this many days (default: $FOOTCARE_RETENTION_DAYS or 30)",
    )
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="endpoints file naming the tracker store")
    parser.add_argument("--reports", default=str(REPORTS), help="folder of review reports to clean too")
    parser.add_argument("--quiet", action="store_true", help="print only when something was deleted (for cron)")
    parser.add_argument(
        "--full",
        action="store_true",
        help="PostgreSQL: VACUUM FULL (rewrites the table so deleted rows leave its files; locks it meanwhile)",
    )


def purge(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from workbench.cli import store_problems_exit
    from workbench.retention import purge as purge_store
    from workbench.store import connect

    if args.days < 1:
        parser.error("--days must be at least 1")
    with store_problems_exit("purge"):
        deleted = purge_store(
            connect(args.endpoints),
            args.days,
            reports_dir=Path(args.reports),
            full=args.full or os.environ.get("PURGE_VACUUM_FULL") == "1",
        )
    if not args.quiet or deleted.events or deleted.reports:
        print(f"purge: kept the last {args.days:g} days; {deleted.summary()}")
    elif deleted.problems:
        print(f"purge: {deleted.summary()}", file=sys.stderr)
    return 0


# --- erase ------------------------------------------------------------------------------------


def erase_arguments(parser: argparse.ArgumentParser) -> None:
    from workbench.store import DEFAULT_ENDPOINTS

    parser.add_argument("sender_id", nargs="?", help="the conversation's sender id")
    parser.add_argument("--find", metavar="TEXT", help="list sender ids whose messages contain TEXT instead")
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="endpoints file naming the tracker store")
    parser.add_argument("--reports", default=str(REPORTS), help="folder of review reports to check")


def erase(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from datetime import datetime

    from workbench.cli import store_problems_exit
    from workbench.retention import erase as erase_sender
    from workbench.retention import find_conversations, stored_ids_like
    from workbench.store import connect

    if bool(args.sender_id) == bool(args.find):
        parser.error("give either a SENDER_ID or --find TEXT")
    with store_problems_exit("erase"):
        store = connect(args.endpoints)
        if args.find:
            found = find_conversations(store, args.find)
            for sender, count, last in found:
                print(f"{sender}\t{count} matching message(s), last {datetime.fromtimestamp(last):%Y-%m-%d %H:%M}")
            if not found:
                print("No conversation contains that text.", file=sys.stderr)
            return 0 if found else 1
        sender_id = args.sender_id
        if not store.count(sender_id):
            candidates = stored_ids_like(store, sender_id)
            if len(candidates) > 1:
                print(
                    "erase: several conversations have that id; give one of them:\n" + "\n".join(candidates),
                    file=sys.stderr,
                )
                return 1
            sender_id = candidates[0] if candidates else sender_id
        deleted = erase_sender(store, sender_id, reports_dir=Path(args.reports))
    if not deleted.events:
        print(f"erase: no conversation with sender id {args.sender_id!r} is stored (nothing deleted)")
        return 1
    print(f"erase: {sender_id}: {deleted.summary()}")
    if deleted.reports:
        print("erase: run `make review` again to rebuild the report")
    return 0


# --- the command line -------------------------------------------------------------------------

Command = Callable[[argparse.Namespace, argparse.ArgumentParser], int]
#: name: (one line, longer description, options, what it does)
COMMANDS: dict[str, tuple[str, Optional[str], Callable[[argparse.ArgumentParser], None], Command]] = {
    "review": (
        "the conversation review report for therapists: figures here, report in reports/review.html",
        REVIEW_HELP,
        review_arguments,
        review,
    ),
    "answers": (
        "every answer of content/knowledge.yml, as users see it, in one document to sign off",
        None,
        answers_arguments,
        answers,
    ),
    "purge": (
        "deletes conversations older than the retention period; safe to run from cron",
        PURGE_HELP,
        purge_arguments,
        purge,
    ),
    "erase": ("deletes one person's conversation, by sender id", ERASE_HELP, erase_arguments, erase),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m workbench",
        description=__doc__.splitlines()[0].split(": ")[0] + ".",
        epilog="`python -m workbench <command> --help` lists a command's options.",
    )
    commands = top.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, (summary, description, arguments, run) in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.",
            epilog=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        arguments(sub)
        sub.set_defaults(run=run, parser=sub)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args, args.parser)


if __name__ == "__main__":
    sys.exit(main())
