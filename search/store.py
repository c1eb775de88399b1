"""SQLite store: documents, chunks (with their vectors) and the lexical FTS5 index.

Everything a document consists of is written in one transaction, so a document is
either fully present (metadata, chunks, vectors, lexical terms) or absent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .models import METADATA_FIELDS, Chunk, NewDocument

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id         TEXT PRIMARY KEY,
    source     TEXT NOT NULL UNIQUE,
    sha256     TEXT NOT NULL,
    format     TEXT,
    title      TEXT NOT NULL,
    date       TEXT,
    event      TEXT,
    location   TEXT,
    organiser  TEXT,
    topics     TEXT NOT NULL DEFAULT '[]',
    language   TEXT,
    source_url TEXT,
    pages      INTEGER,
    text       TEXT NOT NULL,
    n_chunks   INTEGER NOT NULL,
    added_at   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- AUTOINCREMENT: chunk ids are never reused, so a stale vector can never point at
-- another document's passage.
CREATE TABLE IF NOT EXISTS chunks (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    page     INTEGER,
    text     TEXT NOT NULL,
    vector   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, position);
-- Further vectors of a document besides its passages: one per sentence of a chunk
-- (kind 'sentence', chunk_id set), the mean of its passage vectors ('document') and
-- its metadata ('metadata'). Their FAISS copy (fields.faiss) is derived like the
-- passages' one. AUTOINCREMENT for the same reason as chunks.
CREATE TABLE IF NOT EXISTS field_vectors (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    chunk_id INTEGER REFERENCES chunks(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL CHECK (kind IN ('sentence', 'document', 'metadata')),
    vector   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS field_vectors_doc ON field_vectors(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(terms, parts, title);
-- per-term row counts of chunk_fts (document frequency), kept current by FTS5 itself
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_fts, 'row');
"""

#: kinds of field_vectors
FIELD_KINDS = ("sentence", "document", "metadata")

#: documents' columns without the full text (result lists, metadata)
_META_COLUMNS = (
    "id, source, format, title, date, event, location, organiser, topics, language, "
    "source_url, pages, n_chunks, added_at, updated_at"
)
#: ids bound per ``IN (...)`` query, well below SQLite's limit on variables
_IN_BATCH = 500

#: bm25 column weights of chunk_fts: whole-word stems, compound parts, document title
FTS_WEIGHTS = (1.0, 0.75, 0.5)


@dataclass
class ChunkRow:
    """A stored chunk as search needs it."""

    id: int
    doc_id: str
    position: int
    page: int | None
    text: str


@dataclass
class FieldVector:
    """A vector of a document besides its passages, as written with it.

    ``chunk`` is the index of the chunk in the document (sentences), else None.
    """

    kind: str
    chunk: int | None
    vector: np.ndarray


@dataclass
class WriteResult:
    """What a write changed: the generation and the vector ids removed and added."""

    generation: int
    removed_chunks: list[int]
    new_chunks: list[int]
    removed_fields: list[int]
    new_fields: list[int]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One SQLite file. Not shared across threads without the caller's lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.executescript(_SCHEMA)
        if self.get_meta("schema_version") is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
            self.set_meta("generation", "0")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    # -- meta ---------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table, or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def generation(self) -> int:
        """Counter bumped by every committed write; the FAISS copy records it too."""
        return int(self.get_meta("generation") or 0)

    def _bump_generation(self) -> int:
        gen = self.generation() + 1
        self.set_meta("generation", str(gen))
        return gen

    # -- writes -------------------------------------------------------------------
    def source_state(self, source: str) -> tuple[str, str] | None:
        """(doc id, sha256) of the document ingested from ``source``, if any."""
        row = self.conn.execute(
            "SELECT id, sha256 FROM documents WHERE source = ?", (source,)
        ).fetchone()
        return None if row is None else (row["id"], row["sha256"])

    def id_taken(self, doc_id: str) -> bool:
        """Whether a document already uses this id."""
        row = self.conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row is not None

    def upsert_document(
        self,
        doc_id: str,
        doc: NewDocument,
        vectors: np.ndarray,
        chunk_terms: Sequence[tuple[str, str]],
        title_terms: str,
        fmt: str | None = None,
        fields: Sequence[FieldVector] = (),
    ) -> WriteResult:
        """Insert or replace a document with its chunks in one transaction.

        ``chunk_terms`` holds, per chunk, (whole-word terms, compound-part terms) joined
        by spaces; ``fields`` the document's further vectors (sentences, centroid,
        metadata).
        """
        if len(vectors) != len(doc.chunks) or len(chunk_terms) != len(doc.chunks):
            raise ValueError("one vector and one term list per chunk are required")
        for f in fields:
            if f.kind not in FIELD_KINDS or (
                f.chunk is not None and not 0 <= f.chunk < len(doc.chunks)
            ):
                raise ValueError(f"bad field vector {f.kind!r} for chunk {f.chunk}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        now = _now()
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            removed, removed_fields = self._delete_chunks(cur, doc_id)
            existing = cur.execute(
                "SELECT added_at FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
            added_at = existing["added_at"] if existing else now
            cur.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            cur.execute(
                "INSERT INTO documents(id, source, sha256, format, title, date, event, "
                "location, organiser, topics, language, source_url, pages, text, n_chunks, "
                "added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc_id,
                    doc.source,
                    doc.sha256,
                    fmt,
                    doc.title,
                    doc.date,
                    doc.event,
                    doc.location,
                    doc.organiser,
                    json.dumps(doc.topics, ensure_ascii=False),
                    doc.language,
                    doc.source_url,
                    doc.pages,
                    doc.text,
                    len(doc.chunks),
                    added_at,
                    now,
                ),
            )
            new_ids: list[int] = []
            for chunk, vec, (terms, parts) in zip(doc.chunks, vectors, chunk_terms, strict=True):
                cur.execute(
                    "INSERT INTO chunks(doc_id, position, page, text, vector) VALUES (?,?,?,?,?)",
                    (doc_id, chunk.position, chunk.page, chunk.text, vec.tobytes()),
                )
                chunk_id = int(cur.lastrowid)
                new_ids.append(chunk_id)
                cur.execute(
                    "INSERT INTO chunk_fts(rowid, terms, parts, title) VALUES (?,?,?,?)",
                    (chunk_id, terms, parts, title_terms),
                )
            new_fields: list[int] = []
            for f in fields:
                cur.execute(
                    "INSERT INTO field_vectors(doc_id, chunk_id, kind, vector) VALUES (?,?,?,?)",
                    (
                        doc_id,
                        None if f.chunk is None else new_ids[f.chunk],
                        f.kind,
                        np.ascontiguousarray(f.vector, dtype=np.float32).tobytes(),
                    ),
                )
                new_fields.append(int(cur.lastrowid))
            gen = self._bump_generation()
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return WriteResult(gen, removed, new_ids, removed_fields, new_fields)

    def _delete_chunks(self, cur: sqlite3.Cursor, doc_id: str) -> tuple[list[int], list[int]]:
        """Delete a document's chunks, terms and field vectors; returns both id lists."""
        fields = [
            r[0] for r in cur.execute("SELECT id FROM field_vectors WHERE doc_id = ?", (doc_id,))
        ]
        if fields:
            cur.execute("DELETE FROM field_vectors WHERE doc_id = ?", (doc_id,))
        ids = [r[0] for r in cur.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        if ids:
            cur.executemany("DELETE FROM chunk_fts WHERE rowid = ?", [(i,) for i in ids])
            cur.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        return ids, fields

    def delete_document(self, doc_id: str) -> WriteResult | None:
        """Remove a document; returns what was removed, or None if it is absent."""
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            if not cur.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone():
                cur.execute("ROLLBACK")
                return None
            removed, removed_fields = self._delete_chunks(cur, doc_id)
            cur.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            gen = self._bump_generation()
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return WriteResult(gen, removed, [], removed_fields, [])

    # -- reads --------------------------------------------------------------------
    def get_document(self, doc_id: str) -> dict | None:
        """All stored fields of a document, topics decoded; None if absent."""
        row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else _doc_dict(row)

    def _select_in(self, sql: str, values: Sequence) -> Iterator[sqlite3.Row]:
        """Rows of ``sql`` whose ``{marks}`` placeholder takes ``values``, in batches
        that stay below SQLite's limit on bound variables."""
        values = list(values)
        for start in range(0, len(values), _IN_BATCH):
            batch = values[start : start + _IN_BATCH]
            yield from self.conn.execute(sql.format(marks=",".join("?" * len(batch))), batch)

    def documents_meta(self, doc_ids: Sequence[str]) -> dict[str, dict]:
        """Metadata (no full text) of several documents by id."""
        rows = self._select_in(
            f"SELECT {_META_COLUMNS} FROM documents WHERE id IN ({{marks}})", doc_ids
        )
        return {r["id"]: _doc_dict(r) for r in rows}

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[dict]:
        """Documents' metadata, newest report date first."""
        rows = self.conn.execute(
            f"SELECT {_META_COLUMNS} FROM documents ORDER BY date DESC, title LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [_doc_dict(r) for r in rows]

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks by id (missing ids are left out)."""
        rows = self._select_in(
            "SELECT id, doc_id, position, page, text FROM chunks WHERE id IN ({marks})",
            [int(i) for i in chunk_ids],
        )
        return {
            r["id"]: ChunkRow(r["id"], r["doc_id"], r["position"], r["page"], r["text"])
            for r in rows
        }

    def chunk_docs(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """Document id of each chunk id."""
        rows = self._select_in(
            "SELECT id, doc_id FROM chunks WHERE id IN ({marks})", [int(i) for i in chunk_ids]
        )
        return {r[0]: r[1] for r in rows}

    def iter_vectors(self, dim: int, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (chunk ids, vectors) in batches, for rebuilding the FAISS copy."""
        return self._iter_blobs("chunks", dim, batch)

    def iter_field_vectors(
        self, dim: int, batch: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (field vector ids, vectors) in batches, for rebuilding their FAISS copy."""
        return self._iter_blobs("field_vectors", dim, batch)

    def _iter_blobs(
        self, table: str, dim: int, batch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self.conn.execute(
                f"SELECT id, vector FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
            yield ids, vecs
            last = int(ids[-1])

    def document_ids(self) -> list[str]:
        """Ids of all documents, sorted."""
        return [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY id")]

    def load_document(self, doc_id: str) -> tuple[NewDocument, str | None] | None:
        """A stored document with its chunks, as written (and its format); None if absent."""
        doc = self.get_document(doc_id)
        if doc is None:
            return None
        rows = self.conn.execute(
            "SELECT position, page, text FROM chunks WHERE doc_id = ? ORDER BY position",
            (doc_id,),
        ).fetchall()
        fields = {k: doc[k] for k in METADATA_FIELDS}
        new = NewDocument(
            source=doc["source"],
            sha256=doc["sha256"],
            text=doc["text"],
            chunks=[Chunk(r["text"], r["position"], r["page"]) for r in rows],
            pages=doc["pages"],
            **fields,
        )
        return new, doc["format"]

    def document_vectors(self, doc_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The centroid vectors (field kind 'document') of these documents, by id."""
        out = {}
        for doc_id, blob in self._select_in(
            "SELECT doc_id, vector FROM field_vectors WHERE kind = 'document' "
            "AND doc_id IN ({marks})",
            list(doc_ids),
        ):
            out[doc_id] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return out

    def field_owners(self, field_ids: Sequence[int]) -> dict[int, tuple[str, int | None, str]]:
        """(kind, chunk id or None, document id) of each field vector id."""
        rows = self._select_in(
            "SELECT id, kind, chunk_id, doc_id FROM field_vectors WHERE id IN ({marks})",
            [int(i) for i in field_ids],
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def term_chunks(
        self, terms: Sequence[str], chunk_ids: Collection[int]
    ) -> tuple[dict[str, set[int]], dict[str, int], int]:
        """Which of ``chunk_ids`` contain each term (in any column), each term's document
        frequency over all chunks, and the number of all chunks.

        Frequencies come from the FTS5 vocabulary and membership from the candidates'
        stored terms, so the cost does not grow with how common a term is.
        """
        wanted = list(dict.fromkeys(terms))
        df = dict.fromkeys(wanted, 0)
        for term, count in self._select_in(
            "SELECT term, doc FROM chunk_vocab WHERE term IN ({marks})", wanted
        ):
            df[term] = int(count)
        members: dict[str, set[int]] = {t: set() for t in wanted}
        for rowid, whole, parts, title in self._select_in(
            "SELECT rowid, terms, parts, title FROM chunk_fts WHERE rowid IN ({marks})",
            [int(c) for c in chunk_ids],
        ):
            # substring search on space-padded terms: much cheaper than splitting
            present = f" {whole} {parts} {title} "
            for term in wanted:
                if f" {term} " in present:
                    members[term].add(int(rowid))
        n = self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return members, df, n

    def lexical_search(self, match: str, n: int) -> list[tuple[int, float]]:
        """Top-n (chunk id, bm25 score; higher is better) for an FTS5 MATCH expression."""
        if not match:
            return []
        w = FTS_WEIGHTS
        rows = self.conn.execute(
            f"SELECT rowid, -bm25(chunk_fts, {w[0]}, {w[1]}, {w[2]}) AS s FROM chunk_fts "
            "WHERE chunk_fts MATCH ? ORDER BY s DESC LIMIT ?",
            (match, n),
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def counts(self) -> dict:
        """Numbers of documents, chunks and pages, and the newest change."""
        docs, pages, updated = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(pages), 0), MAX(updated_at) FROM documents"
        ).fetchone()
        chunks = self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "pdf_pages": pages, "last_update": updated}


def _doc_dict(row: sqlite3.Row) -> dict:
    data = dict(row)
    if "topics" in data:
        data["topics"] = json.loads(data["topics"] or "[]")
    return data
