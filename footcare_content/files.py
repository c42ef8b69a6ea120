"""Loading therapist-editable YAML content with errors that name the file and key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = Path(os.environ.get("FOOTCARE_CONTENT_DIR", PROJECT_ROOT / "content"))


class ContentError(ValueError):
    """A content file is missing, unreadable or does not match its schema."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {problem}")


def display_path(path: Path | str) -> str:
    """A short path for messages: relative to the working directory or the project when possible."""
    resolved = Path(path).resolve()
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return str(resolved.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def file_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_yaml(path: Path | str) -> Mapping[str, Any]:
    """Reads a YAML mapping, turning every failure into a ContentError that names the file (and
    the line of a YAML error)."""
    shown = display_path(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise ContentError(shown, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ContentError(shown, "", f"file is not valid UTF-8 ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError(shown, "", f"not valid YAML{where}: {problem}") from None
    if not isinstance(data, Mapping):
        raise ContentError(shown, "", "the top level must be a mapping of keys")
    return data


def require_text(path: Path | str, data: Mapping[str, Any], key: str, prefix: str = "") -> str:
    """Returns data[key] as a stripped, non-empty string or raises ContentError."""
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise ContentError(path, f"{prefix}{key}", "must be a non-empty text")
    return value.strip()


def require_mapping(path: Path | str, data: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, Mapping) or not value:
        raise ContentError(path, f"{prefix}{key}", "must be a non-empty mapping")
    return value
