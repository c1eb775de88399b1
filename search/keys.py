"""API keys: named, with a role, stored only as a hash, checked in constant time.

A key is 32 random bytes (URL-safe base64) shown once when created. Only its SHA-256 is
stored (a key this random needs no slow hash); checking compares the digest with every
active key's using ``hmac.compare_digest``, so neither the answer's timing nor an index
lookup tells how close a guess was. A revoked key fails at its next use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import KBError

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('curator', 'reader')),
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""

ROLES = ("curator", "reader")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class Key:
    """A key's public facts (never the key itself)."""

    name: str
    role: str
    created_at: str
    revoked_at: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create(cur: sqlite3.Cursor, name: str, role: str) -> str:
    """Make a key (inside a write); returns the key, which is never stored."""
    if not _NAME.match(name):
        raise KBError(
            "a key name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit",
            code="invalid_key_name",
        )
    if role not in ROLES:
        raise KBError(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    row = cur.execute("SELECT revoked_at FROM api_keys WHERE name = ?", (name,)).fetchone()
    if row is not None and row[0] is None:
        raise KBError(f"a key named {name!r} exists; revoke it first", code="key_exists")
    token = "kb_" + secrets.token_urlsafe(32)
    cur.execute("DELETE FROM api_keys WHERE name = ?", (name,))
    cur.execute(
        "INSERT INTO api_keys(name, role, hash, created_at) VALUES (?,?,?,?)",
        (name, role, _digest(token), datetime.now(UTC).isoformat(timespec="seconds")),
    )
    return token


def revoke(cur: sqlite3.Cursor, name: str) -> None:
    """Revoke a key by name (inside a write)."""
    done = cur.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        (datetime.now(UTC).isoformat(timespec="seconds"), name),
    )
    if done.rowcount == 0:
        raise KBError(f"no active key named {name!r}", code="key_not_found")


def listing(conn: sqlite3.Connection) -> list[Key]:
    """All keys, active and revoked, by name."""
    rows = conn.execute(
        "SELECT name, role, created_at, revoked_at FROM api_keys ORDER BY name"
    ).fetchall()
    return [Key(*row) for row in rows]


def verify(conn: sqlite3.Connection, token: str | None) -> Key | None:
    """The active key matching ``token``, or None."""
    if not token:
        return None
    digest = _digest(token)
    found = None
    for name, role, stored, created in conn.execute(
        "SELECT name, role, hash, created_at FROM api_keys WHERE revoked_at IS NULL"
    ):
        if hmac.compare_digest(digest, stored):
            found = Key(name, role, created)
    return found


def active(conn: sqlite3.Connection, name: str, created_at: str) -> Key | None:
    """The key ``name`` if it is still active and the one made at ``created_at`` (a key
    revoked and made again under the same name is another key)."""
    row = conn.execute(
        "SELECT name, role, created_at FROM api_keys WHERE name = ? AND created_at = ? "
        "AND revoked_at IS NULL",
        (name, created_at),
    ).fetchone()
    return None if row is None else Key(*row)
