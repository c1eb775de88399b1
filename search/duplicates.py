"""Duplicate reports: the same file under another name, and near-duplicate texts.

* **Same file**: a document written with its original bytes is compared by SHA-256 with
  the others; the second source becomes an alias of the first report (table
  ``aliases``), not a second report.
* **Near duplicates** (the same report as PDF and as DOCX): a 64-bit SimHash of the
  normalised text's word 3-grams (Charikar's method). Two texts are near duplicates when
  their fingerprints differ in at most ``MAX_DISTANCE`` bits. Measured on the bundled
  corpus: each PDF against the Markdown it was made from differs in 1-3 bits, unrelated
  reports in 21 or more. To find candidates without reading every fingerprint, each is
  cut into four 16-bit bands stored with an index (multi-index hashing): of two
  fingerprints within 7 bits, at least one band differs in at most one bit
  (pigeonhole), so a lookup asks for each band's value and its 16 one-bit neighbours.
  A band then matches about 1 in 960 unrelated reports; the eight 8-bit bands before
  matched 1 in 32, and at 30,000 reports that lookup cost 7 ms of every report written.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable

import numpy as np

SCHEMA = """
-- further sources of a report whose file was ingested again under another name
CREATE TABLE IF NOT EXISTS aliases (
    source   TEXT PRIMARY KEY,
    doc_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS aliases_doc ON aliases(doc_id);
-- the four 16-bit bands of each document's SimHash, to find near-duplicate candidates
CREATE TABLE IF NOT EXISTS simhash_bands (
    band   INTEGER NOT NULL,
    value  INTEGER NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    PRIMARY KEY (band, value, doc_id)
);
CREATE INDEX IF NOT EXISTS simhash_bands_doc ON simhash_bands(doc_id);
"""

#: fingerprints differing in at most this many of 64 bits are near duplicates
MAX_DISTANCE = 7
_BANDS = 4
_BAND_BITS = 64 // _BANDS
# 7 differing bits over 4 bands leave one band within 1 bit (7 < 4 * 2): the lookup
# radius of a band is one bit; a larger MAX_DISTANCE needs a larger radius
assert MAX_DISTANCE < 2 * _BANDS
_WORD = re.compile(r"\w+")


def simhash(text: str) -> int:
    """64-bit SimHash of the text's lowercased word 3-grams, as a signed 64-bit integer
    (SQLite's INTEGER)."""
    words = _WORD.findall(text.lower())
    grams = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]
    if not grams or not grams[0]:
        return 0
    hashes = np.frombuffer(
        b"".join(hashlib.blake2b(g.encode(), digest_size=8).digest() for g in grams),
        dtype="<u8",
    )
    bits = (hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    votes = bits.astype(np.int64).sum(axis=0) * 2 - len(grams)
    value = int(sum(1 << i for i in range(64) if votes[i] > 0))
    return value - (1 << 64) if value >= 1 << 63 else value


def _bands(fingerprint: int) -> list[tuple[int, int]]:
    unsigned = fingerprint & ((1 << 64) - 1)
    mask = (1 << _BAND_BITS) - 1
    return [(b, (unsigned >> (_BAND_BITS * b)) & mask) for b in range(_BANDS)]


def distance(a: int, b: int) -> int:
    """Number of bits in which two fingerprints differ."""
    return bin((a ^ b) & ((1 << 64) - 1)).count("1")


def record(cur: sqlite3.Cursor, doc_id: str, fingerprint: int) -> None:
    """Store a document's bands (inside its write)."""
    cur.execute("DELETE FROM simhash_bands WHERE doc_id = ?", (doc_id,))
    cur.executemany(
        "INSERT OR IGNORE INTO simhash_bands(band, value, doc_id) VALUES (?,?,?)",
        [(band, value, doc_id) for band, value in _bands(fingerprint)],
    )


def rebuild(cur: sqlite3.Cursor) -> int:
    """Band every document's stored fingerprint anew (a schema migration); returns the
    number of documents banded."""
    cur.execute("DELETE FROM simhash_bands")
    rows = cur.execute("SELECT id, simhash FROM documents WHERE simhash IS NOT NULL").fetchall()
    cur.executemany(
        "INSERT OR IGNORE INTO simhash_bands(band, value, doc_id) VALUES (?,?,?)",
        [(band, value, doc_id) for doc_id, fp in rows for band, value in _bands(fp)],
    )
    return len(rows)


def _neighbours(value: int) -> list[int]:
    """A band value and the values one bit away."""
    return [value, *(value ^ (1 << bit) for bit in range(_BAND_BITS))]


def near(
    conn: sqlite3.Connection | sqlite3.Cursor, fingerprint: int, exclude: Iterable[str] = ()
) -> list[tuple[str, int]]:
    """(document id, bit distance) of the near duplicates of a fingerprint, closest first."""
    if fingerprint == 0:
        return []
    values = ",".join("?" * (_BAND_BITS + 1))
    where = " OR ".join(f"(band = ? AND value IN ({values}))" for _ in range(_BANDS))
    params = [x for band, value in _bands(fingerprint) for x in (band, *_neighbours(value))]
    rows = conn.execute(
        "SELECT DISTINCT d.id, d.simhash FROM simhash_bands b JOIN documents d ON d.id = b.doc_id "
        f"WHERE {where}",
        params,
    ).fetchall()
    skip = set(exclude)
    found = [
        (doc_id, distance(fingerprint, other))
        for doc_id, other in rows
        if doc_id not in skip and other is not None
    ]
    return sorted((f for f in found if f[1] <= MAX_DISTANCE), key=lambda f: (f[1], f[0]))
