"""The change log: who changed which report when, with its metadata before and after.

Written inside the transaction of the change itself, so the log and the reports never
disagree. ``actor`` is the API key's name, or ``cli:<user>`` for the command line.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN
           ('added', 'updated', 'edited', 'replaced', 'removed', 'alias')),
    doc_id TEXT NOT NULL,
    before TEXT,
    after  TEXT
);
"""


def record(
    cur: sqlite3.Cursor,
    actor: str,
    action: str,
    doc_id: str,
    before: dict | None,
    after: dict | None,
) -> None:
    """Append one change (inside the caller's write transaction)."""
    cur.execute(
        "INSERT INTO changes(at, actor, action, doc_id, before, after) VALUES (?,?,?,?,?,?)",
        (
            datetime.now(UTC).isoformat(timespec="seconds"),
            actor,
            action,
            doc_id,
            None if before is None else json.dumps(before, ensure_ascii=False),
            None if after is None else json.dumps(after, ensure_ascii=False),
        ),
    )


def page(conn: sqlite3.Connection, offset: int, limit: int) -> tuple[int, list[dict]]:
    """(number of all changes, one page of them, newest first)."""
    total = conn.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
    rows = conn.execute(
        "SELECT id, at, actor, action, doc_id, before, after FROM changes "
        "ORDER BY id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    out = []
    for row in rows:
        item = dict(row)
        for key in ("before", "after"):
            item[key] = None if item[key] is None else json.loads(item[key])
        out.append(item)
    return total, out
