"""What the workbench's command-line scripts share."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from typing import Iterator


def quiet() -> None:
    """Keeps library deprecation noise out of the scripts' output (they may run from cron, which mails any output)."""
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.simplefilter("ignore")
    # Rasa adds its own warning filters on import; this keeps them from printing anyway.
    warnings.showwarning = lambda *args, **kwargs: None
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def database_problem(exc: BaseException) -> str:
    """A database error for the terminal, without the SQL statement or its parameters (which may hold sender ids)."""
    orig = getattr(exc, "orig", None)
    detail = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else exc.__class__.__name__
    return f"the tracker store could not be read or changed ({detail})"


@contextlib.contextmanager
def store_problems_exit(prog: str) -> Iterator[None]:
    """Ends the script with one line on stderr and exit status 2 when the tracker
    store is not configured (StoreError) or cannot be read or changed."""
    from sqlalchemy.exc import SQLAlchemyError

    from workbench.store import StoreError

    try:
        yield
    except StoreError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except SQLAlchemyError as exc:
        print(f"{prog}: {database_problem(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
