"""Reading the content files: short paths for messages, a file's SHA-256, YAML with errors that name the file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Tuple, Union

import yaml

from footcare_content.files import ContentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def display_path(path: Union[str, Path]) -> str:
    """A short path for messages: relative to the project (or cwd) when possible."""
    p = Path(path)
    try:
        resolved = p.resolve()
    except OSError:  # pragma: no cover - exotic paths
        return str(path)
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return str(resolved.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def file_sha256(path: Union[str, Path]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_yaml(path: Union[str, Path]) -> Tuple[Any, str, str]:
    shown = display_path(path)
    p = Path(path)
    if not p.is_file():
        raise ContentError(shown, "", "file not found")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(shown, "", f"file is not valid UTF-8 ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError(shown, "", f"invalid YAML{where}: {problem}") from None
    return data, shown, hashlib.sha256(raw).hexdigest()
