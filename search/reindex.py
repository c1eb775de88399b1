"""Re-embed and re-analyse a whole index into a new store, then switch to it.

Used when the embedder changes (``kb reindex --embedder``) or this program's lexical
analyzer differs from the one that built the index. Other writers wait for the whole
run; readers keep reading the old store until the switch, then follow it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from .analyze import ANALYZER_VERSION, Analyzer
from .embedders import Embedder
from .fields import embed_documents
from .folder import BUILDING, DB_FILE, IndexFolder
from .manifest import Manifest
from .mirror import VectorMirror
from .store import Store

#: documents embedded together
BATCH = 32


def rebuild(
    folder: IndexFolder,
    embedder: Embedder,
    analyzer: Analyzer,
    *,
    sentence_vectors: bool,
) -> int:
    """Build a new store with ``embedder`` and ``analyzer`` and switch to it; returns the
    number of documents.

    The new store starts as a copy of the SQLite file (ids, metadata and every other
    table stay), in a ``.building`` folder; then every document gets new vectors and
    terms in place; one atomic manifest replacement switches. An interruption before the
    switch leaves the old store active; the next writer removes the unfinished folder.
    """
    with folder.lock.hold(folder.on_wait):
        old = folder.current()
        name = folder.new_store_name()
        building = folder.path / (name + BUILDING)
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        try:
            count = _rebuild_into(
                old.store,
                building,
                embedder,
                analyzer,
                old.manifest.vector_index,
                sentence_vectors,
            )
            building.rename(folder.path / name)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        folder.switch(
            Manifest(
                embedder=embedder.name,
                dim=embedder.dim,
                analyzer=ANALYZER_VERSION,
                vector_index=old.manifest.vector_index,
                store=name,
            )
        )
    return count


def _rebuild_into(
    source: Store,
    path: Path,
    embedder: Embedder,
    analyzer: Analyzer,
    vector_index: str,
    sentence_vectors: bool,
) -> int:
    target = Store(path / DB_FILE)
    copy = sqlite3.connect(str(target.path))
    with source.read():
        source.conn.backup(copy)
    copy.close()
    try:
        target.create_or_migrate()
        ids = target.document_ids()
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            docs = [target.load_document(doc_id)[0] for doc_id in batch]
            embedded = embed_documents(
                embedder, docs, [None] * len(docs), sentence_vectors=sentence_vectors
            )
            for doc_id, doc, (vectors, fields) in zip(batch, docs, embedded, strict=True):
                target.rewrite_vectors(
                    doc_id,
                    vectors,
                    [analyzer.chunk_fields(c.text) for c in doc.chunks],
                    " ".join(analyzer.index_terms(doc.title)),
                    fields,
                )
        target.reset_log()
        mirror = VectorMirror(target, path, vector_index, embedder.dim)
        mirror.catch_up_now()
        mirror.save()
    finally:
        target.close()
    return len(ids)
