"""Sanic's access log without query strings: Rasa's HTTP API takes its token as `?token=`."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?\S*")


class RedactQuery(logging.Filter):
    """Replaces a logged request's query string with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, str) and "?" in request:
            record.request = _QUERY.sub("?[query left out]", request)
        return True


def apply() -> None:
    """Puts `RedactQuery` on Sanic's access logger (once)."""
    access = logging.getLogger("sanic.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())


def remove() -> None:
    """Takes `RedactQuery` off Sanic's access logger."""
    access = logging.getLogger("sanic.access")
    for found in [f for f in access.filters if isinstance(f, RedactQuery)]:
        access.removeFilter(found)
