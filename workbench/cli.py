"""What the workbench's command-line scripts share."""
from __future__ import annotations

import logging
import os
import warnings


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
