"""Writing documents: embed in batches outside the lock, then commit one by one inside it.

A batch of documents is embedded together (passages of all of them in one call, then
their sentences, then their metadata texts), which keeps the embedder's matrices large,
and without holding the write lock, so searches and other writers are not held up by
the model. Each document then commits in its own transaction under the lock: an error
costs that document only, and another writer may commit between two documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import duplicates, originals
from .analyze import Analyzer
from .embedders import Embedder
from .errors import DocumentNotFound
from .fields import EmbeddingPlan, FieldVector, embed_all, metadata_text, metadata_vector
from .folder import IndexFolder
from .models import METADATA_FIELDS, NewDocument, Written, check_metadata
from .settings import Settings
from .store import Store


@dataclass
class Incoming:
    """A document to write and how.

    ``doc_id`` is the preferred id of a new document; ``original`` the file's bytes, to
    keep (and to recognise the same file under another source); ``replaces`` the id of a
    document this one replaces whatever its source; ``vectors`` its passage vectors, if
    they were computed already.
    """

    doc: NewDocument
    doc_id: str | None = None
    fmt: str | None = None
    original: bytes | None = None
    filename: str | None = None
    replaces: str | None = None
    vectors: np.ndarray | None = None


@dataclass
class Batch:
    """A batch between :meth:`Writer.start` and :meth:`Writer.finish`."""

    items: list[Incoming]
    results: list[Written | Exception | None]
    todo: list[int]  # items to embed and commit (the others are done)
    plan: EmbeddingPlan | None
    vectors: Callable[[], np.ndarray] | None  # the plan's vectors, being embedded


@dataclass
class _Prepared:
    item: Incoming
    vectors: np.ndarray
    fields: list[FieldVector]
    chunk_terms: list[tuple[str, str]]
    title_terms: str
    fingerprint: int


class Writer:
    """The write operations of one knowledge base."""

    def __init__(
        self,
        index: IndexFolder,
        embedder: Callable[[], Embedder],
        analyzer: Analyzer,
        settings: Settings,
    ) -> None:
        self.index = index
        self._embedder = embedder  # the knowledge base's, which a reindex may change
        self.analyzer = analyzer
        self.settings = settings

    def add(self, items: Sequence[Incoming], actor: str) -> list[Written | Exception]:
        """Write documents; per item its outcome, or the exception that stopped it."""
        return self.finish(self.start(items, actor), actor)

    def start(self, items: Sequence[Incoming], actor: str) -> Batch:
        """Begin writing ``items``: skip files the index has already (as aliases) and
        start embedding the rest. An :class:`search.parallel.EmbeddingPool` embeds in
        other processes meanwhile; :meth:`finish` completes the batch."""
        results: list[Written | Exception | None] = [None] * len(items)
        todo = []
        with self.index.writing() as handle:  # the same file again costs no embedding
            for i, item in enumerate(items):
                twin = self._twin(handle.store, item)
                if twin is not None:
                    handle.store.add_alias(twin, item.doc.source, actor)
                    results[i] = Written(twin, "duplicate", duplicate_of=twin)
                else:
                    todo.append(i)
        embedder = self._embedder()
        plan, vectors = None, None
        try:
            for i in todo:
                self._check_vectors(items[i], embedder.dim)
            plan = EmbeddingPlan(
                [items[i].doc for i in todo],
                [items[i].vectors for i in todo],
                sentence_vectors=self.settings.sentence_vectors,
            )
            if plan.texts:
                vectors = embedder.submit(plan.texts)
        except Exception:  # noqa: BLE001 - finish finds the document that fails
            plan = None
        return Batch(list(items), results, todo, plan, vectors)

    def finish(self, batch: Batch, actor: str) -> list[Written | Exception]:
        """Complete a batch from :meth:`start`: vectors, terms, then one commit per
        document. Per item its outcome, or the exception that stopped it."""
        items, results, todo = batch.items, batch.results, batch.todo
        prepared = None
        if batch.plan is not None:
            try:
                prepared = self._prepare([items[i] for i in todo], batch.plan, batch.vectors)
            except Exception:  # noqa: BLE001 - below, the document that fails is found
                prepared = None
        if prepared is None:  # one by one: a failing document costs only itself
            prepared = []
            for i in todo:
                try:
                    prepared.extend(self._prepare([items[i]]))
                except Exception as exc:  # noqa: BLE001 - reported per document
                    results[i] = exc
                    prepared.append(None)
        for i, prep in zip(todo, prepared, strict=True):
            if prep is None:
                continue
            try:
                results[i] = self._commit(prep, actor)
            except Exception as exc:  # noqa: BLE001 - reported per document
                results[i] = exc
        return results  # type: ignore[return-value]

    @staticmethod
    def _twin(store: Store, item: Incoming) -> str | None:
        if item.original is None or item.replaces is not None:
            return None
        return store.same_file(item.doc.sha256, item.doc.source)

    @staticmethod
    def _check_vectors(item: Incoming, dim: int) -> None:
        if item.vectors is not None and np.shape(item.vectors) != (len(item.doc.chunks), dim):
            raise ValueError(
                f"expected vectors of shape ({len(item.doc.chunks)}, {dim}), "
                f"got {np.shape(item.vectors)}"
            )

    def _prepare(
        self,
        items: Sequence[Incoming],
        plan: EmbeddingPlan | None = None,
        vectors: Callable[[], np.ndarray] | None = None,
    ) -> list[_Prepared]:
        """Vectors, terms and fingerprints of documents (no lock held); ``plan`` and
        the vectors of its texts (being embedded elsewhere) if they were started."""
        embedder = self._embedder()
        if plan is None:
            for item in items:
                self._check_vectors(item, embedder.dim)
            plan = EmbeddingPlan(
                [item.doc for item in items],
                [item.vectors for item in items],
                sentence_vectors=self.settings.sentence_vectors,
            )
        # terms first: with vectors still coming from other processes, this overlaps
        terms = [
            (
                [self.analyzer.chunk_fields(c.text) for c in item.doc.chunks],
                " ".join(self.analyzer.index_terms(item.doc.title)),
                duplicates.simhash(item.doc.text),
            )
            for item in items
        ]
        embedded = plan.assemble(
            vectors() if vectors is not None else embed_all(embedder, plan.texts), embedder.dim
        )
        return [
            _Prepared(item, vecs, fields, chunk_terms, title_terms, fingerprint)
            for item, (vecs, fields), (chunk_terms, title_terms, fingerprint) in zip(
                items, embedded, terms, strict=True
            )
        ]

    def _commit(self, prep: _Prepared, actor: str) -> Written:
        item, doc = prep.item, prep.item.doc
        kept = originals.keep(self.index.path, item.original) if item.original else None
        with self.index.writing() as handle:
            store = handle.store
            twin = self._twin(store, item)
            if twin is not None:  # written meanwhile by another writer
                store.add_alias(twin, doc.source, actor)
                return Written(twin, "duplicate", duplicate_of=twin)
            if item.replaces is not None:
                if not store.id_taken(item.replaces):
                    raise DocumentNotFound(f"no document with id {item.replaces!r}")
                target = item.replaces
            else:
                state = store.source_state(doc.source)
                target = (
                    state[0] if state else free_id(store, item.doc_id or doc.doc_id, doc.source)
                )
            replaced = store.get_document(target)
            changes, status = store.upsert_document(
                target,
                doc,
                prep.vectors,
                prep.chunk_terms,
                prep.title_terms,
                item.fmt,
                prep.fields,
                actor=actor,
                fingerprint=prep.fingerprint,
                filename=item.filename,
                original=kept,
            )
            handle.mirror.apply(changes)
            near = duplicates.near(store.conn, prep.fingerprint, exclude=[target])
            self._drop_unused_original(store, replaced)
        return Written(target, status, near_duplicates=[d for d, _ in near])

    def remove(self, doc_id: str, actor: str) -> None:
        """Delete a document, everything derived from it and its unshared original."""
        with self.index.writing() as handle:
            removed = handle.store.delete_document(doc_id, actor)
            if removed is None:
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            changes, before = removed
            handle.mirror.apply(changes)
            self._drop_unused_original(handle.store, before)

    def _drop_unused_original(self, store: Store, doc: dict | None) -> None:
        if doc and doc["original"] and not store.references(doc["original"]):
            originals.drop(self.index.path, doc["original"])

    def update_metadata(self, doc_id: str, values: dict, actor: str) -> dict:
        """Correct metadata; a changed title or metadata text gets new title terms and a
        new metadata vector, passages stay. Returns the document's metadata now."""
        values = check_metadata(values)
        with self.index.writing() as handle:
            current = handle.store.get_document(doc_id)
            if current is None:
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            values = {k: v for k, v in values.items() if current[k] != v}
            if not values:  # nothing changes: nothing to write or log
                return handle.store.documents_meta([doc_id])[doc_id]
            before = _as_new(current)
            after = _as_new({**current, **values})
            title_terms = None
            if after.title != before.title:
                title_terms = " ".join(self.analyzer.index_terms(after.title))
            vector = None
            if metadata_text(after) != metadata_text(before):
                vector = metadata_vector(self._embedder(), after)
            changes, _, now = handle.store.update_metadata(
                doc_id, values, title_terms, vector, actor
            )
            handle.mirror.apply(changes)
        return now


def _as_new(doc: dict) -> NewDocument:
    """A stored document's metadata as a record (for its metadata text)."""
    return NewDocument(doc["source"], doc["sha256"], "", [], **{k: doc[k] for k in METADATA_FIELDS})


def free_id(store: Store, wanted: str | None, source: str) -> str:
    """``wanted`` if no document has it, else made unique by a hash of the source."""
    base = wanted or "dokument"
    digest = hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest()
    for candidate in (base, f"{base}-{digest[:6]}", f"{base}-{digest[:12]}", f"{base}-{digest}"):
        if not store.id_taken(candidate):
            return candidate
    raise ValueError(f"no free id for {source!r}")
