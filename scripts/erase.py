#!/usr/bin/env python
"""`make erase`: deletes one person's conversation, by sender id.

  scripts/erase.py SENDER_ID        delete every stored event of that conversation
  scripts/erase.py --find TEXT      list the sender ids whose messages contain TEXT
                                    (for a person who tells you what they wrote, e.g. their phone number)

The website widget's sender id is the session id kept in the browser; Telegram's
is the chat id. Review reports that quote the person's messages are removed
too (run `make review` again). The tracker store is the one in the endpoints file.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from workbench.cli import quiet  # noqa: E402

quiet()


def main(argv=None) -> int:
    from workbench.retention import erase, find_conversations
    from workbench.cli import store_problems_exit
    from workbench.store import DEFAULT_ENDPOINTS, connect

    parser = argparse.ArgumentParser(description="Deletes one person's conversation, by sender id.")
    parser.add_argument("sender_id", nargs="?", help="the conversation's sender id")
    parser.add_argument("--find", metavar="TEXT", help="list sender ids whose messages contain TEXT instead")
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="endpoints file naming the tracker store")
    parser.add_argument("--reports", default=str(ROOT / "reports"), help="folder of review reports to check")
    args = parser.parse_args(argv)
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
        deleted = erase(store, args.sender_id, reports_dir=Path(args.reports))
    if not deleted.events:
        print(f"erase: no conversation with sender id {args.sender_id!r} is stored (nothing deleted)")
        return 1
    print(f"erase: {deleted.summary()}")
    if deleted.reports:
        print("erase: run `make review` again to rebuild the report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
