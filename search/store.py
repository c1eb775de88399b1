"""SQLite store: documents, chunks and all their vectors, the lexical index, the vector log.

The store is the source of truth. Everything a document consists of is written in one
transaction, so a document is either fully present (metadata, chunks, vectors, lexical
terms) or absent. Every write bumps the ``generation`` counter and appends the vector ids
it added and removed to ``vector_log``; the in-memory FAISS mirrors (``search.mirror``)
follow the store by replaying that log, so no process has to rewrite a vector file after
each write.

Connections are per thread. A request reads inside ``read()``, one SQLite read
transaction, so it sees one committed state from its first to its last statement (WAL
mode lets it read while a writer writes). Writes run inside ``write()``
(``BEGIN IMMEDIATE``); the caller holds the index's write lock.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import changes as change_log
from . import duplicates, keys, lexical
from .errors import DocumentNotFound, IndexFormatError
from .facets import FacetTable
from .filters import FILTER_FIELDS
from .lexical import select_in
from .models import METADATA_FIELDS, Chunk, NewDocument

SCHEMA_VERSION = 7

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
    updated_at TEXT NOT NULL,
    filename   TEXT,     -- name of the original file as ingested or uploaded
    original   TEXT,     -- SHA-256 of the kept original file (originals/), if kept
    simhash    INTEGER   -- fingerprint of the text, for near duplicates
);
CREATE INDEX IF NOT EXISTS documents_sha256 ON documents(sha256);
-- a date filter reads this index, not the rows, which hold each report's whole text
CREATE INDEX IF NOT EXISTS documents_dates ON documents(date, id);
-- The values the filters compare for equality, in lower case (Python's: SQLite's
-- lower() folds ASCII only), one row per document and value, each topic on its own:
-- a filter looks its reports up here instead of testing every report (29,482 reports:
-- one event 5 -> 0.004 ms; a topic of 923 reports 36 -> 0.6 ms, it read every list).
CREATE TABLE IF NOT EXISTS document_values (
    field  TEXT NOT NULL,
    folded TEXT NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    PRIMARY KEY (field, folded, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS document_values_doc ON document_values(doc_id);
-- AUTOINCREMENT: chunk ids are never reused, so a stale vector can never point at
-- another document's passage, and a vector id is added and removed at most once.
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
-- its metadata ('metadata'). AUTOINCREMENT for the same reason as chunks.
CREATE TABLE IF NOT EXISTS field_vectors (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    chunk_id INTEGER REFERENCES chunks(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL CHECK (kind IN ('sentence', 'document', 'metadata')),
    vector   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS field_vectors_doc ON field_vectors(doc_id);
-- a topic query's feedback reads the centroids of its best documents: by this index,
-- not among each document's ~25 field vectors (10 centroids: 0.37 -> 0.22 ms at 100k)
CREATE INDEX IF NOT EXISTS field_vectors_centroids ON field_vectors(doc_id)
    WHERE kind = 'document';
CREATE INDEX IF NOT EXISTS field_vectors_chunk ON field_vectors(chunk_id);
-- What each write did to the vector spaces, for the mirrors to replay: ``added`` is 1
-- for an added id, 0 for a removed one. Entries up to meta 'log_floor' are pruned.
CREATE TABLE IF NOT EXISTS vector_log (
    generation INTEGER NOT NULL,
    space      TEXT NOT NULL,
    added      INTEGER NOT NULL,
    id         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS vector_log_generation ON vector_log(generation);
"""

#: kinds of field_vectors
FIELD_KINDS = ("sentence", "document", "metadata")

#: vector spaces and the table that holds each one's vectors
SPACES = {"passages": "chunks", "fields": "field_vectors"}
#: the vector log's entry for a passage whose lexical terms changed in place
TERMS_CHANGED = "terms"
#: who owns each vector of a space: (id, document id, chunk id, field kind)
_OWNERS = {
    "passages": "SELECT id, doc_id, NULL, NULL FROM chunks",
    "fields": "SELECT id, doc_id, chunk_id, kind FROM field_vectors",
}

#: documents' columns without the full text (result lists, metadata)
#: documents whose metadata one store keeps in memory for the newest generation read
META_CACHE_DOCUMENTS = 50_000

_META_COLUMNS = (
    "id, source, sha256, format, title, date, event, location, organiser, topics, language, "
    "source_url, pages, n_chunks, added_at, updated_at, filename, original"
)


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
class VectorChanges:
    """What one write did to the vector spaces: ids removed, and ids added with vectors."""

    generation: int
    removed: dict[str, list[int]] = field(default_factory=dict)
    added: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: per space, the owner of each added id: (document id, chunk id or None, field kind)
    owners: dict[str, list[tuple[str, int | None, str | None]]] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _as_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class Store:
    """One SQLite file with a connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._meta_cache: tuple[int | None, dict[str, dict]] = (None, {})
        self._facets: FacetTable | None = None

    # -- connections and transactions ---------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            # Unicode lower case for filters (SQLite's lower() folds ASCII only)
            conn.create_function("fold", 1, _fold, deterministic=True)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every statement inside sees the same committed state.

        Nested use joins the outer transaction.
        """
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction that bumps the generation; rolled back on any error."""
        conn = self.conn
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    # -- schema -------------------------------------------------------------------------
    def schema_version(self) -> int | None:
        """The schema version recorded in the file; None for a new, empty file."""
        try:
            value = self.get_meta("schema_version")
        except sqlite3.OperationalError:  # no meta table yet
            return None
        return None if value is None else int(value)

    def check_schema(self) -> None:
        """IndexFormatError unless this version of the code can read the file as it is."""
        version = self.schema_version()
        if version != SCHEMA_VERSION:
            raise IndexFormatError(_format_message(self.path, version))

    def create_or_migrate(self) -> None:
        """Create the tables, or bring an older schema to this version (caller holds the
        write lock). Version 2 lacks the vector log (the mirrors rebuild once), version 3
        an index of sentence vectors by chunk, versions 2-4 have the SimHash in eight
        8-bit bands instead of four 16-bit ones (banded anew), versions 2-5 lack the
        index of dates (created by the schema script), versions 2-6 the table of the
        values filters compare (filled from the documents) and the index of centroid
        vectors (created by the schema script)."""
        version = self.schema_version()
        if version is not None and version not in (2, 3, 4, 5, 6, SCHEMA_VERSION):
            raise IndexFormatError(_format_message(self.path, version))
        if version == SCHEMA_VERSION:
            return
        self.conn.executescript(
            _SCHEMA + lexical.SCHEMA + duplicates.SCHEMA + change_log.SCHEMA + keys.SCHEMA
        )
        if version is not None and version <= 4:
            with self.write() as cur:
                duplicates.rebuild(cur)
        if version is not None:
            with self.write() as cur:
                cur.execute("DROP INDEX IF EXISTS documents_filters")  # schema 6's
                columns = ", ".join(FILTER_FIELDS)
                for row in cur.execute(f"SELECT id, {columns} FROM documents").fetchall():
                    values = dict(zip(FILTER_FIELDS, row[1:], strict=True))
                    values["topics"] = json.loads(values["topics"] or "[]")
                    _set_values(cur, row[0], values)
        if version in (3, 4, 5, 6):
            with self.write() as cur:
                self._set_meta(cur, "schema_version", str(SCHEMA_VERSION))
            return
        with self.write() as cur:
            gen = self._generation(cur)
            chunks = cur.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            for key, value in {
                "schema_version": SCHEMA_VERSION,
                "generation": gen,
                "log_floor": gen,  # nothing logged before now
                "chunks": chunks,
            }.items():
                self._set_meta(cur, key, str(value))

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str, conn: sqlite3.Connection | None = None) -> str | None:
        """A value of the meta table, or None; ``conn``: another thread's read
        transaction (default: this thread's connection)."""
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _set_meta(cur: sqlite3.Cursor, key: str, value: str) -> None:
        cur.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @staticmethod
    def _generation(cur: sqlite3.Cursor | sqlite3.Connection) -> int:
        row = cur.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def generation(self) -> int:
        """Counter bumped by every committed write."""
        return self._generation(self.conn)

    def log_floor(self) -> int:
        """The vector log holds every change after this generation."""
        return int(self.get_meta("log_floor") or 0)

    def _bump_generation(self, cur: sqlite3.Cursor) -> int:
        gen = self._generation(cur) + 1
        self._set_meta(cur, "generation", str(gen))
        return gen

    def _add_chunk_count(self, cur: sqlite3.Cursor, delta: int) -> None:
        if delta:
            cur.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'chunks'",
                (delta,),
            )

    # -- writes -------------------------------------------------------------------------
    def upsert_document(
        self,
        doc_id: str,
        doc: NewDocument,
        vectors: np.ndarray,
        chunk_terms: Sequence[tuple[str, str]],
        title_terms: str,
        fmt: str | None,
        fields: Sequence[FieldVector],
        *,
        actor: str,
        fingerprint: int = 0,
        filename: str | None = None,
        original: str | None = None,
    ) -> tuple[VectorChanges, str]:
        """Insert or replace a document with its chunks in one transaction; returns the
        vector changes and the action logged ("added" or "updated").

        ``chunk_terms`` holds, per chunk, (whole-word terms, compound-part terms) joined
        by spaces; ``fields`` the document's further vectors (sentences, centroid,
        metadata); ``fingerprint`` its text's SimHash; ``original`` the SHA-256 of its
        kept original file. Another document with the same source is replaced too.
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
        with self.write() as cur:
            changes = VectorChanges(0)
            existing = cur.execute(
                "SELECT added_at FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
            before = self._meta(cur, doc_id) if existing else None
            for (other,) in cur.execute(
                "SELECT id FROM documents WHERE source = ? AND id != ?", (doc.source, doc_id)
            ).fetchall():
                self._delete(cur, other, changes)
            if existing:
                self._delete(cur, doc_id, changes, keep_row=True)
            row = {
                "source": doc.source,
                "sha256": doc.sha256,
                "format": fmt,
                "title": doc.title,
                "date": doc.date,
                "event": doc.event,
                "location": doc.location,
                "organiser": doc.organiser,
                "topics": json.dumps(doc.topics, ensure_ascii=False),
                "language": doc.language,
                "source_url": doc.source_url,
                "pages": doc.pages,
                "text": doc.text,
                "n_chunks": len(doc.chunks),
                "updated_at": now,
                "filename": filename,
                "original": original,
                "simhash": fingerprint,
            }
            if existing:  # an update keeps the row (and its aliases and added_at)
                sets = ", ".join(f"{k} = ?" for k in row)
                cur.execute(f"UPDATE documents SET {sets} WHERE id = ?", (*row.values(), doc_id))
            else:
                row.update(id=doc_id, added_at=now)
                cur.execute(
                    f"INSERT INTO documents({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    tuple(row.values()),
                )
            _set_values(
                cur, doc_id, {f: getattr(doc, f, None) for f in FILTER_FIELDS} | {"format": fmt}
            )
            duplicates.record(cur, doc_id, fingerprint)
            chunk_ids: list[int] = []
            for chunk, vec, (terms, parts) in zip(doc.chunks, vectors, chunk_terms, strict=True):
                cur.execute(
                    "INSERT INTO chunks(doc_id, position, page, text, vector) VALUES (?,?,?,?,?)",
                    (doc_id, chunk.position, chunk.page, chunk.text, _as_blob(vec)),
                )
                chunk_ids.append(int(cur.lastrowid))
                lexical.index_chunk(cur, chunk_ids[-1], terms, parts, title_terms)
            self._add_chunk_count(cur, len(chunk_ids))
            field_ids: list[int] = []
            for f in fields:
                cur.execute(
                    "INSERT INTO field_vectors(doc_id, chunk_id, kind, vector) VALUES (?,?,?,?)",
                    (
                        doc_id,
                        None if f.chunk is None else chunk_ids[f.chunk],
                        f.kind,
                        _as_blob(f.vector),
                    ),
                )
                field_ids.append(int(cur.lastrowid))
            changes.added["passages"] = (np.asarray(chunk_ids, dtype=np.int64), vectors)
            changes.owners["passages"] = [(doc_id, None, None)] * len(chunk_ids)
            if fields:
                changes.added["fields"] = (
                    np.asarray(field_ids, dtype=np.int64),
                    np.stack([np.asarray(f.vector, dtype=np.float32) for f in fields]),
                )
                changes.owners["fields"] = [
                    (doc_id, None if f.chunk is None else chunk_ids[f.chunk], f.kind)
                    for f in fields
                ]
            action = "updated" if existing else "added"
            change_log.record(cur, actor, action, doc_id, before, self._meta(cur, doc_id))
            changes.generation = self._commit_changes(cur, changes)
        return changes, action

    def add_alias(self, doc_id: str, source: str, actor: str) -> None:
        """Record ``source`` as a further source of a document (the same file again)."""
        with self.write() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO aliases(source, doc_id, added_at) VALUES (?,?,?)",
                (source, doc_id, _now()),
            )
            change_log.record(cur, actor, "alias", doc_id, None, {"source": source})
            self._bump_generation(cur)

    def delete_document(self, doc_id: str, actor: str) -> tuple[VectorChanges, dict] | None:
        """Remove a document; returns what was removed and its metadata, or None if it is
        absent."""
        with self.write() as cur:
            before = self._meta(cur, doc_id)
            if before is None:
                return None
            changes = VectorChanges(0)
            self._delete(cur, doc_id, changes)
            change_log.record(cur, actor, "removed", doc_id, before, None)
            changes.generation = self._commit_changes(cur, changes)
        return changes, before

    def update_metadata(
        self,
        doc_id: str,
        values: dict,
        title_terms: str | None,
        metadata_vector: FieldVector | None,
        actor: str,
    ) -> tuple[VectorChanges, dict, dict]:
        """Change metadata fields of a document; with a new title, its title terms; with a
        new metadata vector, that vector. Passages are not re-embedded. Returns the
        vector changes and the metadata before and after."""
        with self.write() as cur:
            before = self._meta(cur, doc_id)
            if before is None:
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            columns = {
                k: json.dumps(v, ensure_ascii=False) if k == "topics" else v
                for k, v in values.items()
            }
            assignments = ", ".join(f"{k} = ?" for k in columns)
            cur.execute(
                f"UPDATE documents SET {assignments}, updated_at = ? WHERE id = ?",
                (*columns.values(), _now(), doc_id),
            )
            _set_values(cur, doc_id, {f: v for f, v in values.items() if f in FILTER_FIELDS})
            changes = VectorChanges(0)
            retitled: list[int] = []
            if title_terms is not None:
                chunk_ids = [
                    r[0] for r in cur.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))
                ]
                lexical.set_title(cur, chunk_ids, title_terms)
                retitled = chunk_ids
            if metadata_vector is not None:
                old = [
                    r[0]
                    for r in cur.execute(
                        "SELECT id FROM field_vectors WHERE doc_id = ? AND kind = 'metadata'",
                        (doc_id,),
                    )
                ]
                cur.execute(
                    "DELETE FROM field_vectors WHERE doc_id = ? AND kind = 'metadata'", (doc_id,)
                )
                cur.execute(
                    "INSERT INTO field_vectors(doc_id, chunk_id, kind, vector) VALUES (?,?,?,?)",
                    (doc_id, None, "metadata", _as_blob(metadata_vector.vector)),
                )
                changes.removed["fields"] = old
                changes.added["fields"] = (
                    np.asarray([cur.lastrowid], dtype=np.int64),
                    np.asarray(metadata_vector.vector, dtype=np.float32)[None, :],
                )
                changes.owners["fields"] = [(doc_id, None, "metadata")]
            after = self._meta(cur, doc_id)
            change_log.record(cur, actor, "edited", doc_id, before, after)
            changes.generation = self._commit_changes(cur, changes)
            # not a vector change: the in-memory postings (search.postings) rebuild
            cur.executemany(
                "INSERT INTO vector_log(generation, space, added, id) VALUES (?,?,1,?)",
                [(changes.generation, TERMS_CHANGED, int(i)) for i in retitled],
            )
        return changes, before, after

    @staticmethod
    def _meta(cur: sqlite3.Cursor | sqlite3.Connection, doc_id: str) -> dict | None:
        row = cur.execute(
            f"SELECT {_META_COLUMNS} FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        return None if row is None else _doc_dict(row)

    def _delete(
        self, cur: sqlite3.Cursor, doc_id: str, changes: VectorChanges, *, keep_row: bool = False
    ) -> None:
        """Delete a document's chunks, terms and field vectors and, unless ``keep_row``
        (a replacement, which keeps its aliases), the document (inside a write)."""
        fields = [
            r[0] for r in cur.execute("SELECT id FROM field_vectors WHERE doc_id = ?", (doc_id,))
        ]
        chunks = [r[0] for r in cur.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        cur.execute("DELETE FROM field_vectors WHERE doc_id = ?", (doc_id,))
        lexical.drop_chunks(cur, chunks)
        cur.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        if not keep_row:
            cur.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        self._add_chunk_count(cur, -len(chunks))
        changes.removed.setdefault("passages", []).extend(chunks)
        changes.removed.setdefault("fields", []).extend(fields)

    def _commit_changes(self, cur: sqlite3.Cursor, changes: VectorChanges) -> int:
        """Bump the generation and log the write's vector ids under it."""
        gen = self._bump_generation(cur)
        rows = [(gen, space, 0, int(i)) for space, ids in changes.removed.items() for i in ids] + [
            (gen, space, 1, int(i)) for space, (ids, _) in changes.added.items() for i in ids
        ]
        cur.executemany(
            "INSERT INTO vector_log(generation, space, added, id) VALUES (?,?,?,?)", rows
        )
        return gen

    def rewrite_vectors(
        self,
        doc_id: str,
        vectors: np.ndarray,
        chunk_terms: Sequence[tuple[str, str]],
        title_terms: str,
        fields: Sequence[FieldVector],
    ) -> None:
        """Replace a document's vectors and lexical terms in place (a reindex): chunk ids,
        metadata and everything else stay. Not logged; ``reset_log`` follows."""
        with self.write() as cur:
            chunk_ids = [
                r[0]
                for r in cur.execute(
                    "SELECT id FROM chunks WHERE doc_id = ? ORDER BY position", (doc_id,)
                )
            ]
            if len(chunk_ids) != len(vectors) or len(chunk_ids) != len(chunk_terms):
                raise ValueError("one vector and one term list per chunk are required")
            lexical.drop_chunks(cur, chunk_ids)
            for chunk_id, vec, (terms, parts) in zip(chunk_ids, vectors, chunk_terms, strict=True):
                cur.execute("UPDATE chunks SET vector = ? WHERE id = ?", (_as_blob(vec), chunk_id))
                lexical.index_chunk(cur, chunk_id, terms, parts, title_terms)
            cur.execute("DELETE FROM field_vectors WHERE doc_id = ?", (doc_id,))
            cur.executemany(
                "INSERT INTO field_vectors(doc_id, chunk_id, kind, vector) VALUES (?,?,?,?)",
                [
                    (
                        doc_id,
                        None if f.chunk is None else chunk_ids[f.chunk],
                        f.kind,
                        _as_blob(f.vector),
                    )
                    for f in fields
                ],
            )

    def reset_log(self) -> None:
        """Start the vector log afresh: mirrors of this store rebuild from the tables."""
        with self.write() as cur:
            gen = self._bump_generation(cur)
            cur.execute("DELETE FROM vector_log")
            self._set_meta(cur, "log_floor", str(gen))

    def prune_log(self, upto: int) -> None:
        """Forget logged changes up to generation ``upto`` (a saved mirror covers them)."""
        with self.write() as cur:
            if upto <= int(self._meta_value(cur, "log_floor") or 0):
                return
            cur.execute("DELETE FROM vector_log WHERE generation <= ?", (upto,))
            self._set_meta(cur, "log_floor", str(upto))

    @staticmethod
    def _meta_value(cur: sqlite3.Cursor, key: str) -> str | None:
        row = cur.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # -- reads --------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> dict | None:
        """All stored fields of a document, topics decoded; None if absent."""
        row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else _doc_dict(row)

    def source_state(self, source: str) -> tuple[str, str] | None:
        """(doc id, sha256) of the document ingested from ``source`` (or whose alias it
        is), if any."""
        row = self.conn.execute(
            "SELECT id, sha256 FROM documents WHERE source = ? UNION ALL "
            "SELECT d.id, d.sha256 FROM aliases a JOIN documents d ON d.id = a.doc_id "
            "WHERE a.source = ?",
            (source, source),
        ).fetchone()
        return None if row is None else (row["id"], row["sha256"])

    def sources(self) -> dict[str, list[str]]:
        """Every document's sources: its own first, then its aliases."""
        out: dict[str, list[str]] = {}
        for doc_id, source in self.conn.execute(
            "SELECT id, source FROM documents UNION ALL "
            "SELECT doc_id, source FROM aliases ORDER BY 1"
        ):
            out.setdefault(doc_id, []).append(source)
        return out

    def same_file(self, sha256: str, source: str) -> str | None:
        """The id of another source's document whose file has this SHA-256, if any."""
        row = self.conn.execute(
            "SELECT id FROM documents WHERE sha256 = ? AND source != ? AND original IS NOT NULL",
            (sha256, source),
        ).fetchone()
        return None if row is None else row[0]

    def referenced_originals(self) -> set[str]:
        """Digests of every kept original file a document names."""
        rows = self.conn.execute(
            "SELECT DISTINCT original FROM documents WHERE original IS NOT NULL"
        )
        return {r[0] for r in rows}

    def references(self, original: str) -> int:
        """How many documents name this original file."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM documents WHERE original = ?", (original,)
        ).fetchone()[0]

    def id_taken(self, doc_id: str) -> bool:
        """Whether a document already uses this id."""
        row = self.conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row is not None

    def documents_meta(
        self, doc_ids: Sequence[str], generation: int | None = None
    ) -> dict[str, dict]:
        """Metadata (no full text) of several documents by id.

        With the ``generation`` of the caller's read transaction, answers come from a
        memory cache valid for that generation only (every search reads the metadata of
        all its matching reports for the facets; about 1.2 ms per search on 3,000
        reports from SQLite). The dicts are shared: callers must not change them.
        """
        if generation is None:
            return self._read_meta(doc_ids)
        cached_at, known = self._meta_cache
        if cached_at != generation:
            known = {}
            self._meta_cache = (generation, known)
        missing = [d for d in doc_ids if d not in known]
        fetched = self._read_meta(missing) if missing else {}
        if len(known) + len(fetched) <= META_CACHE_DOCUMENTS:
            known.update(fetched)
        return {d: m for d in doc_ids if (m := known.get(d) or fetched.get(d)) is not None}

    def facet_table(self, generation: int) -> FacetTable:
        """The facet codes of the reports read at ``generation`` (``search.facets``): kept
        in memory like their metadata, for the newest generation read."""
        table = self._facets
        if table is None or table.generation != generation:
            table = self._facets = FacetTable(generation, META_CACHE_DOCUMENTS)
        return table

    def _read_meta(self, doc_ids: Sequence[str]) -> dict[str, dict]:
        rows = select_in(
            self.conn, f"SELECT {_META_COLUMNS} FROM documents WHERE id IN ({{marks}})", doc_ids
        )
        return {r["id"]: _doc_dict(r) for r in rows}

    def list_documents(self, offset: int, limit: int) -> list[dict]:
        """Documents' metadata, newest report date first."""
        return self.find_documents(offset, limit)[1]

    def find_documents(
        self,
        offset: int,
        limit: int,
        *,
        text: str | None = None,
        year: int | None = None,
        topic: str | None = None,
    ) -> tuple[int, list[dict]]:
        """(number of matching documents, one page of them), newest report date first,
        in one read transaction; each with ``last_change`` (the newest change log entry)
        and ``simhash`` (its text's fingerprint).

        ``text`` is found case-insensitively in the title, event, location, organiser,
        source or file name; ``year`` is the year of the report's date; ``topic`` one of
        its topics (case-insensitive).
        """
        where, params = [], []
        if text and text.strip():
            pattern = "%" + _escape_like(" ".join(text.split()).lower()) + "%"
            columns = ("title", "event", "location", "organiser", "source", "filename")
            where.append("(" + " OR ".join(f"fold({c}) LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params.extend([pattern] * len(columns))
        if year is not None:
            where.append("substr(date, 1, 4) = ?")
            params.append(f"{year:04d}")
        if topic and topic.strip():
            where.append(
                "id IN (SELECT doc_id FROM document_values WHERE field = 'topics' AND folded = ?)"
            )
            params.append(_fold(" ".join(topic.split())))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.read() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM documents{clause}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_META_COLUMNS}, simhash, (SELECT MAX(at) FROM changes c WHERE c.doc_id = "
                f"documents.id) AS last_change FROM documents{clause} "
                "ORDER BY date DESC, title, id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return total, [_doc_dict(r) for r in rows]

    def topics(self) -> list[str]:
        """Every topic any document has, sorted case-insensitively (for filter choices)."""
        rows = self.conn.execute(
            "SELECT DISTINCT t.value FROM documents, json_each(documents.topics) t "
            "WHERE t.type = 'text'"
        ).fetchall()
        return sorted({r[0] for r in rows}, key=lambda t: (t.casefold(), t))

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks by id (missing ids are left out)."""
        rows = select_in(
            self.conn,
            "SELECT id, doc_id, position, page, text FROM chunks WHERE id IN ({marks})",
            [int(i) for i in chunk_ids],
        )
        return {
            r["id"]: ChunkRow(r["id"], r["doc_id"], r["position"], r["page"], r["text"])
            for r in rows
        }

    def passages(self, doc_id: str) -> list[ChunkRow]:
        """A document's chunks in order."""
        rows = self.conn.execute(
            "SELECT id, doc_id, position, page, text FROM chunks WHERE doc_id = ? "
            "ORDER BY position",
            (doc_id,),
        ).fetchall()
        return [ChunkRow(r["id"], r["doc_id"], r["position"], r["page"], r["text"]) for r in rows]

    def chunk_docs(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """Document id of each chunk id."""
        rows = select_in(
            self.conn,
            "SELECT id, doc_id FROM chunks WHERE id IN ({marks})",
            [int(i) for i in chunk_ids],
        )
        return {r[0]: r[1] for r in rows}

    def field_owners(self, field_ids: Sequence[int]) -> dict[int, tuple[str, int | None, str]]:
        """(kind, chunk id or None, document id) of each field vector id."""
        rows = select_in(
            self.conn,
            "SELECT id, kind, chunk_id, doc_id FROM field_vectors WHERE id IN ({marks})",
            [int(i) for i in field_ids],
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def document_vectors(self, doc_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The centroid vectors (field kind 'document') of these documents, by id."""
        rows = select_in(
            self.conn,
            "SELECT doc_id, vector FROM field_vectors WHERE kind = 'document' "
            "AND doc_id IN ({marks})",
            list(doc_ids),
        )
        return {d: np.frombuffer(blob, dtype=np.float32, count=dim) for d, blob in rows}

    def admitted(self, where: str, params: Sequence) -> tuple[frozenset[str], int]:
        """(ids of the documents ``d`` matching ``where``, number of all documents)."""
        docs = frozenset(
            r[0] for r in self.conn.execute(f"SELECT d.id FROM documents d WHERE {where}", params)
        )
        return docs, self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def allowed(self, doc_ids: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, field vector ids) of these documents."""
        docs = list(doc_ids)
        chunks = [
            r[0]
            for r in select_in(self.conn, "SELECT id FROM chunks WHERE doc_id IN ({marks})", docs)
        ]
        fields = [
            r[0]
            for r in select_in(
                self.conn, "SELECT id FROM field_vectors WHERE doc_id IN ({marks})", docs
            )
        ]
        return np.asarray(chunks, dtype=np.int64), np.asarray(fields, dtype=np.int64)

    def sentence_vectors(self, chunk_ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        """Each chunk's sentence vectors, in the order of its sentences."""
        rows = select_in(
            self.conn,
            "SELECT chunk_id, vector FROM field_vectors WHERE kind = 'sentence' "
            "AND chunk_id IN ({marks}) ORDER BY chunk_id, id",
            [int(c) for c in chunk_ids],
        )
        grouped: dict[int, list[bytes]] = {}
        for chunk_id, blob in rows:
            grouped.setdefault(chunk_id, []).append(blob)
        return {
            c: np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dim)
            for c, blobs in grouped.items()
        }

    def centroid_ids(self) -> np.ndarray:
        """Field ids of every document's centroid vector."""
        rows = self.conn.execute("SELECT id FROM field_vectors WHERE kind = 'document'").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def value_counts(self, column: str) -> list[tuple[str, int]]:
        """(value, number of documents) of a metadata column, most frequent first; for
        ``topics``, each topic of the lists."""
        if column == "topics":
            sql = (
                "SELECT t.value, COUNT(DISTINCT d.id) FROM documents d, json_each(d.topics) t "
                "GROUP BY t.value"
            )
        elif column in ("event", "organiser", "location", "format", "language"):
            sql = (
                f"SELECT {column}, COUNT(*) FROM documents WHERE {column} IS NOT NULL "
                f"AND {column} != '' GROUP BY {column}"
            )
        else:
            raise ValueError(f"no counts of {column!r}")
        rows = self.conn.execute(sql).fetchall()
        return sorted(((r[0], r[1]) for r in rows), key=lambda r: (-r[1], r[0]))

    def chunk_count(self, conn: sqlite3.Connection | None = None) -> int:
        """Number of all chunks (kept in the meta table by every write); ``conn``: another
        thread's read transaction (default: this thread's connection)."""
        return int(self.get_meta("chunks", conn) or 0)

    def iter_vectors(
        self, space: str, dim: int, batch: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (ids, vectors) of a space in batches, for rebuilding its mirror."""
        table = SPACES[space]
        last = -1
        while True:
            rows = self.conn.execute(
                f"SELECT id, vector FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            ids, vecs = _unpack(rows, dim)
            yield ids, vecs
            last = int(ids[-1])

    def owners(
        self, space: str, ids: Sequence[int] | None = None
    ) -> list[tuple[int, str, int | None, str | None]]:
        """(id, document id, chunk id, field kind) of the given ids of a space, or of all;
        chunk id and kind are None for passages."""
        sql = _OWNERS[space]
        if ids is None:
            return [tuple(r) for r in self.conn.execute(sql)]
        return [
            tuple(r)
            for r in select_in(self.conn, sql + " WHERE id IN ({marks})", [int(i) for i in ids])
        ]

    def vectors(self, space: str, ids: Sequence[int], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the given ids of a space that still exist."""
        rows = list(
            select_in(
                self.conn,
                f"SELECT id, vector FROM {SPACES[space]} WHERE id IN ({{marks}}) ORDER BY id",
                [int(i) for i in ids],
            )
        )
        return _unpack(rows, dim)

    def log_between(self, after: int, upto: int) -> dict[str, tuple[set[int], set[int]]]:
        """Per space, the (added, removed) vector ids of generations ``after``+1..``upto``;
        under ``TERMS_CHANGED``, passages whose terms changed in place (a new title)."""
        out: dict[str, tuple[set[int], set[int]]] = {s: (set(), set()) for s in SPACES}
        for space, added, vid in self.conn.execute(
            "SELECT space, added, id FROM vector_log WHERE generation > ? AND generation <= ?",
            (after, upto),
        ):
            out.setdefault(space, (set(), set()))[0 if added else 1].add(int(vid))
        return out

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

    def counts(self) -> dict:
        """Numbers of documents, chunks and pages, and the newest change."""
        docs, pages, updated = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(pages), 0), MAX(updated_at) FROM documents"
        ).fetchone()
        return {
            "documents": docs,
            "chunks": self.chunk_count(),
            "pdf_pages": pages,
            "last_update": updated,
        }


def _fold(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _set_values(cur: sqlite3.Cursor, doc_id: str, values: Mapping[str, object]) -> None:
    """Record the filter values of a document's fields in ``values`` (a string, None, or
    for topics a list), in lower case, replacing what those fields had (in a write)."""
    rows = []
    for name, value in values.items():
        cur.execute("DELETE FROM document_values WHERE doc_id = ? AND field = ?", (doc_id, name))
        for v in value if isinstance(value, list | tuple) else [value]:
            if isinstance(v, str) and v:
                rows.append((name, v.lower(), doc_id))
    cur.executemany(
        "INSERT OR IGNORE INTO document_values(field, folded, doc_id) VALUES (?, ?, ?)", rows
    )


def _escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _unpack(rows: Sequence[sqlite3.Row], dim: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
    return ids, vecs


def _format_message(path: Path, version: int | None) -> str:
    if version is not None and version > SCHEMA_VERSION:
        return (
            f"index {path.parent} was written by a newer version of this program (schema "
            f"{version}, this one reads {SCHEMA_VERSION}); upgrade the program"
        )
    return (
        f"index {path.parent} has an unsupported schema ({version}); "
        f"rebuild it with 'kb ingest' into a new folder"
    )


def _doc_dict(row: sqlite3.Row) -> dict:
    data = dict(row)
    if "topics" in data:
        data["topics"] = json.loads(data["topics"] or "[]")
    return data
