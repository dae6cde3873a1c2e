"""Pseudonymous keys for analysts: the same patient always gets the same key, no key leads back.

An analyst needs to follow one patient across readings, windows and alerts (length of stay,
repeated alerts, readmissions) without ever seeing who it is. The lake therefore carries
``patient_key`` and ``encounter_key`` beside the ids: HMAC-SHA256 of the id under a secret
key, hex, 32 characters (128 bits: no collision among any number of patients a hospital has).
A plain or salted hash in an Athena view would not do: the salt would sit in the view's text,
readable by the analyst, and hospital ids are short enough to try them all. The key lives in
Secrets Manager on AWS (only the job can read it) and in a local file on a laptop. Changing
the key changes every key from then on, so old and new rows no longer join: it is not rotated.

Which columns are keyed, and from what, is declared here; the curated schemas end with the key
columns (``core/schema/tables.py``) and the lake sink fills them. Plain Python, no Flink.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

# key column -> the id column it is computed from
PSEUDONYMS: dict[str, str] = {"patient_key": "patient_id", "encounter_key": "encounter_id"}
KEY_CHARS = 32
MIN_KEY_BYTES = 32
_CACHE_LIMIT = 100_000  # ids a sink has seen recently; a bound, not a leak, under patient churn


class PseudonymKeyError(ValueError):
    """The secret key is missing, unreadable or too short; the message names the setting."""


class Pseudonymiser:
    """``key(identifier)``: the identifier's pseudonymous key (None stays None)."""

    def __init__(self, secret: bytes):
        if len(secret) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"pseudonym key has {len(secret)} bytes: at least {MIN_KEY_BYTES} needed")
        self._secret = secret
        self._cache: dict[str, str] = {}

    def key(self, identifier: str | None) -> str | None:
        if identifier is None:
            return None
        found = self._cache.get(identifier)
        if found is None:
            found = hmac.new(self._secret, identifier.encode(), hashlib.sha256).hexdigest()[:KEY_CHARS]
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[identifier] = found
        return found

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return "Pseudonymiser(<secret>)"


def decode_secret(text: str, setting: str) -> bytes:
    """A key as stored: hex (what ``new_secret`` and the CDK's generated secret hold) or raw text."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = text.encode()
    if len(raw) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"{setting}: the pseudonym key has {len(raw)} bytes, at least {MIN_KEY_BYTES} needed")
    return raw


def new_secret() -> str:
    return secrets.token_hex(MIN_KEY_BYTES)


def local_secret(path: str, setting: str) -> bytes:
    """The laptop's key, made on first use (owner-only file): keys stay stable across runs."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(new_secret())
        try:
            os.link(tmp, path)  # whole or absent; if another subtask made it first, theirs stands
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path, encoding="ascii") as f:
        return decode_secret(f.read(), setting)
