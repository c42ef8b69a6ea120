#!/usr/bin/env python
"""`make purge`: deletes conversations older than the retention period. Safe to run from cron.

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
  15 3 * * *  cd /srv/footcare && .venv/bin/python scripts/purge.py --quiet
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from workbench.cli import quiet  # noqa: E402

quiet()

DEFAULT_DAYS = 30


def main(argv=None) -> int:
    from workbench.retention import purge
    from workbench.cli import store_problems_exit
    from workbench.store import DEFAULT_ENDPOINTS, connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--days", type=float, default=float(os.environ.get("FOOTCARE_RETENTION_DAYS") or DEFAULT_DAYS),
                        help="keep this many days (default: $FOOTCARE_RETENTION_DAYS or 30)")
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="endpoints file naming the tracker store")
    parser.add_argument("--reports", default=str(ROOT / "reports"), help="folder of review reports to clean too")
    parser.add_argument("--quiet", action="store_true", help="print only when something was deleted (for cron)")
    parser.add_argument("--full", action="store_true",
                        help="PostgreSQL: VACUUM FULL (rewrites the table so deleted rows leave its files; locks it meanwhile)")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    with store_problems_exit("purge"):
        deleted = purge(connect(args.endpoints), args.days, reports_dir=Path(args.reports),
                        full=args.full or os.environ.get("PURGE_VACUUM_FULL") == "1")
    if not args.quiet or deleted.events or deleted.reports:
        print(f"purge: kept the last {args.days:g} days; {deleted.summary()}")
    elif deleted.problems:
        print(f"purge: {deleted.summary()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
