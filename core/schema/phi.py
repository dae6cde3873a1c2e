"""What may stay of a refused record in the lake's dead-letter table: no identities.

A source that sends names or identifiers in a malformed record must not put them in the lake,
where anyone who can query it reads them. ``scrub`` removes identifying fields (a declared list
of names, however spelled), free text (its size kept) and identifying values (by pattern: e-mail, phone, social-security
and NHS numbers, dates of birth), and caps the size. The record itself, unchanged, goes to the
quarantine (``lake.quarantine.path``: its own bucket, key and retention on AWS) for replay.
Plain Python, no Flink.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_SCRUBBED_CHARS = 4096
# Field names that identify a person, compared lower-case without "_", "-" or spaces.
IDENTIFYING_FIELDS = frozenset(re.sub(r"[_\- ]", "", n) for n in (
    "name", "first_name", "last_name", "given_name", "family_name", "middle_name", "full_name", "patient_name",
    "maiden_name", "given", "family", "surname", "forename", "dob", "date_of_birth", "birth_date", "birthdate",
    "mrn", "medical_record_number", "nhs_number", "ssn", "social_security_number", "national_id", "passport",
    "address", "street", "line", "city", "postcode", "postal_code", "zip", "zip_code", "phone", "telephone",
    "mobile", "email", "insurance_number", "policy_number", "next_of_kin", "telecom", "doctor_name",
))
# Text a clinician or a source wrote, which can name anyone in words no pattern knows: the value
# goes, its size stays (the curated tables' free-text columns; analysts do not get them either).
FREE_TEXT_FIELDS: dict[str, str] = {
    "message": "page text: names the bed",
    **{name: "free text" for name in ("discharge_notes", "reason_for_visit", "pre_existing_condition",
                                       "symptoms", "medications", "tests")},
}
_FREE_TEXT = frozenset(re.sub(r"[_\- ]", "", n) for n in FREE_TEXT_FIELDS)
PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("e-mail", re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{1,190}")),  # bounded: no quadratic backtracking
    ("social-security number", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("NHS number", re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")),
    # Not digits that follow "<letter>-": those are a code's (P-0007-000001 is a patient id, not a phone).
    ("phone number", re.compile(r"(?:\+\d{1,3}[ .-]?)?\(?(?<![A-Za-z]-)\b\d{2,5}\)?[ .-]\d{3,4}[ .-]?\d{3,4}\b")),
)
# "name=Jane Roe" or "dob: 1950-02-03" in text that is not JSON (CSV, HL7-ish, logs).
_KEY_VALUE = re.compile(r"(?i)\b([a-z][a-z_\- ]{1,30}?)\s*[=:]\s*([^,;&|\n\r]+)")


def _normal(key: str) -> str:
    return re.sub(r"[_\- ]", "", key.lower())


def _identifying(key: str) -> bool:
    return _normal(key) in IDENTIFYING_FIELDS


def _size(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item" + ("" if len(value) == 1 else "s")
    return f"{len(str(value))} characters"


def _text(value: str, removed: set[str]) -> str:
    def drop(m: re.Match) -> str:
        if _identifying(m.group(1)):
            removed.add(f"field {m.group(1)[:40]}")
            return f"{m.group(1)}=[removed]"
        return m.group(0)

    value = _KEY_VALUE.sub(drop, value)
    for label, pattern in PATTERNS:
        value, n = pattern.subn(f"[{label} removed]", value)
        if n:
            removed.add(label)
    return value


def _walk(node: Any, removed: set[str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if _identifying(str(key)):
                removed.add(f"field {str(key)[:40]}")
                continue
            if _normal(str(key)) in _FREE_TEXT and value is not None:
                removed.add(f"free text {str(key)[:40]}")
                out[str(key)] = f"[free text removed: {_size(value)}]"
                continue
            out[_text(str(key), removed)] = _walk(value, removed)
        return out
    if isinstance(node, list):
        return [_walk(v, removed) for v in node]
    if isinstance(node, str):
        return _text(node, removed)
    return node


def scrub(payload: str) -> str:
    """The payload without identifying fields or values, at most MAX_SCRUBBED_CHARS; says what went."""
    removed: set[str] = set()
    if len(payload) > 4 * MAX_SCRUBBED_CHARS:  # only what can be shown is scrubbed (the rest is cut anyway)
        payload, cut = payload[: 4 * MAX_SCRUBBED_CHARS], len(payload) - 4 * MAX_SCRUBBED_CHARS
    else:
        cut = 0
    try:
        text = json.dumps(_walk(json.loads(payload), removed), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):  # not JSON, or nested too deep to walk: scrubbed as text
        text = _text(payload, removed)
    if len(text) > MAX_SCRUBBED_CHARS or cut:
        more = len(text) - MAX_SCRUBBED_CHARS + cut
        text = text[:MAX_SCRUBBED_CHARS] + f"…[{more} more characters in the quarantine]"
    if removed:
        text += f" [removed: {', '.join(sorted(removed))}]"
    return text
