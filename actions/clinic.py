"""The clinic's contact details, read from content/clinic.yml and checked on load."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from actions.content import CONTENT_DIR, ContentError, load_yaml, require_text

CLINIC_FILE = CONTENT_DIR / "clinic.yml"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,24}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    email: str
    booking_url: str
    emergency_number: str
    opening_hours: str = ""
    address: str = ""

    def placeholders(self) -> dict[str, str]:
        """Values for the {placeholders} allowed in knowledge.yml messages."""
        return {
            "clinic_name": self.name,
            "phone": self.phone,
            "email": self.email,
            "booking_url": self.booking_url,
            "emergency_number": self.emergency_number,
            "opening_hours": self.opening_hours or "see our website",
            "address": self.address or "see our website",
        }


def load_clinic(path: Path | str = CLINIC_FILE) -> Clinic:
    data = load_yaml(path)
    fields = {key: require_text(path, data, key) for key in ("name", "phone", "email", "booking_url", "emergency_number")}
    checks = {
        "phone": (_PHONE, "must be a phone number such as +44 20 7946 0000"),
        "email": (_EMAIL, "must be an email address"),
        "booking_url": (_URL, "must start with http:// or https://"),
        "emergency_number": (re.compile(r"^[0-9]{2,4}$"), "must be a short emergency number such as 112, 999 or 911"),
    }
    for key, (pattern, problem) in checks.items():
        if not pattern.match(fields[key]):
            raise ContentError(path, key, f"{problem} (got {fields[key]!r})")
    optional = {}
    for key in ("opening_hours", "address"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise ContentError(path, key, "must be text if given")
        optional[key] = value.strip()
    unknown = set(data) - set(fields) - set(optional)
    if unknown:
        raise ContentError(path, sorted(unknown)[0], "is not a known clinic field")
    return Clinic(**fields, **optional)


@lru_cache(maxsize=1)
def clinic() -> Clinic:
    """The clinic of this deployment, loaded once per process."""
    return load_clinic()
