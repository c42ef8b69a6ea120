"""The clinic's contact details, read from content/clinic.yml and checked on load.

The clinic's ``region`` (UK, US or EU) names the services that safety advice
points to, so that one reply never mixes them: a UK clinic says GP / A&E /
999 / NHS 111, a US one primary care doctor / ER / 911, an EU one family
doctor / emergency department / 112.  ``emergency_number`` may be left out
(it then comes from the region); if given, it must be the region's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from footcare_content.files import CONTENT_DIR, ContentError, load_yaml, require_text

CLINIC_FILE = CONTENT_DIR / "clinic.yml"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,24}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://\S+$")
#: optional answers to what patients ask about sessions and fees, in the clinic's own words;
#: content/knowledge.yml (clinic_details) words them, and says so when one is not set
CLINIC_DETAILS = ("session_length", "session_frequency", "price", "insurance")


@dataclass(frozen=True)
class Services:
    """Where a region sends people, as the safety texts' placeholders use them."""

    emergency_number: str  # {emergency_number}: "Call 999 now."
    doctor: str  # {doctor}: "call your GP for an urgent appointment"
    urgent_care: str  # {urgent_care}: "or go to A&E"
    out_of_hours: str  # {out_of_hours}: "If your GP is closed, contact NHS 111."

    def placeholders(self) -> dict[str, str]:
        return {
            "emergency_number": self.emergency_number,
            "doctor": self.doctor,
            "urgent_care": self.urgent_care,
            "out_of_hours": self.out_of_hours,
        }


REGIONS: dict[str, Services] = {
    "UK": Services("999", "your GP", "A&E", "NHS 111"),
    "US": Services("911", "your primary care doctor", "the ER", "an urgent care center"),
    "EU": Services("112", "your family doctor", "the emergency department", "an out-of-hours doctor"),
}


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    email: str
    booking_url: str
    region: str
    opening_hours: str = ""
    address: str = ""
    #: what the clinic says about its sessions and fees (CLINIC_DETAILS), "" = not set
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return REGIONS[self.region]

    @property
    def emergency_number(self) -> str:
        return self.services.emergency_number

    def placeholders(self) -> dict[str, str]:
        """Values for the {placeholders} of knowledge.yml messages and safety.yml texts."""
        return {
            "clinic_name": self.name,
            "phone": self.phone,
            "email": self.email,
            "booking_url": self.booking_url,
            "opening_hours": self.opening_hours or "see our website",
            "address": self.address or "see our website",
            **self.services.placeholders(),
        }


def load_clinic(path: Path | str = CLINIC_FILE) -> Clinic:
    data = load_yaml(path)
    fields = {key: require_text(path, data, key) for key in ("name", "phone", "email", "booking_url", "region")}
    checks = {
        "phone": (_PHONE, "must be a phone number such as +44 20 7946 0000"),
        "email": (_EMAIL, "must be an email address"),
        "booking_url": (_URL, "must start with http:// or https://"),
    }
    for key, (pattern, problem) in checks.items():
        if not pattern.match(fields[key]):
            raise ContentError(path, key, f"{problem} (got {fields[key]!r})")
    region = fields["region"]
    if region not in REGIONS:
        raise ContentError(path, "region", f"must be one of {', '.join(REGIONS)} (got {region!r})")
    if "emergency_number" in data:
        number = data["emergency_number"]
        number = str(number).strip() if isinstance(number, (str, int)) and not isinstance(number, bool) else None
        if not number or not re.match(r"^[0-9]{2,4}$", number):
            raise ContentError(
                path,
                "emergency_number",
                f"must be a short emergency number such as 112, 999 or 911 (got {data['emergency_number']!r})",
            )
        if number != REGIONS[region].emergency_number:
            raise ContentError(
                path,
                "emergency_number",
                f"is {number} but the emergency number of region {region} is {REGIONS[region].emergency_number}; "
                "leave it out or change the region",
            )
    optional = {}
    for key in ("opening_hours", "address", *CLINIC_DETAILS):
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ContentError(path, key, "must be text if given")
        if "{" in value or "}" in value:
            raise ContentError(path, key, "must not contain { or }")
        optional[key] = " ".join(value.split())
    unknown = set(data) - set(fields) - set(optional) - {"emergency_number"}
    if unknown:
        raise ContentError(path, sorted(unknown)[0], "is not a known clinic field")
    details = {key: optional.pop(key) for key in CLINIC_DETAILS}
    return Clinic(**fields, **optional, details=details)


@lru_cache(maxsize=1)
def clinic() -> Clinic:
    """The clinic of this deployment, loaded once per process."""
    return load_clinic()
