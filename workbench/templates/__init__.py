"""The HTML of the therapists' reports, as Jinja2 templates (autoescaped) beside this file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

FOLDER = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(FOLDER),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    """The template filled in with `context`; every value is HTML-escaped unless marked safe."""
    return _environment().get_template(template).render(**context)
