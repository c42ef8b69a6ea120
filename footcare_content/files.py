"""Loading therapist-editable YAML content with errors that name the file and key."""

from __future__ import annotations

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


def load_yaml(path: Path | str) -> Mapping[str, Any]:
    """Reads a YAML mapping, turning every failure into a ContentError."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ContentError(path, "", "file not found") from None
    except yaml.YAMLError as exc:
        raise ContentError(path, "", f"not valid YAML ({exc})") from None
    if not isinstance(data, Mapping):
        raise ContentError(path, "", "the top level must be a mapping of keys")
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
