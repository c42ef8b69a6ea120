#!/usr/bin/env python
"""`make erase`: deletes one person's conversation, by sender id.

  scripts/erase.py SENDER_ID        delete every stored event of that conversation
  scripts/erase.py --find TEXT      list the sender ids whose messages contain TEXT
                                    (for a person who tells you what they wrote, e.g. their phone number)

Sender ids name their channel: `web:<session id>` for the website widget,
`telegram:<chat id>` for Telegram, `rest:<sender>` for REST. An id given
without its channel is looked up under each channel; when it matches one
conversation that one is erased, when it matches several they are listed. Review reports that quote the person's messages are removed
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
    from workbench.retention import erase, find_conversations, stored_ids_like
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
        sender_id = args.sender_id
        if not store.count(sender_id):
            candidates = stored_ids_like(store, sender_id)
            if len(candidates) > 1:
                print("erase: several conversations have that id; give one of them:\n" + "\n".join(candidates),
                      file=sys.stderr)
                return 1
            sender_id = candidates[0] if candidates else sender_id
        deleted = erase(store, sender_id, reports_dir=Path(args.reports))
    if not deleted.events:
        print(f"erase: no conversation with sender id {args.sender_id!r} is stored (nothing deleted)")
        return 1
    print(f"erase: {sender_id}: {deleted.summary()}")
    if deleted.reports:
        print("erase: run `make review` again to rebuild the report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
