"""The knowledge base: the one entry point of the adapters (CLI, API, pages, ingest).

A facade over its parts: ``folder`` (manifest, write lock, stores followed across
processes), ``store`` (SQLite, the source of truth), ``mirror`` (vectors in memory),
``retrieval`` and ``lexical`` (the retrievers), ``ranking`` (fusion), ``results``
(hits and snippets) and ``reindex``. The concurrency model, in short
(``docs/architecture.md`` has it in full):

* one writer at a time per index, across processes; a waiting writer is told whom it
  waits for and gives up after ``KB_WRITE_TIMEOUT`` seconds;
* readers take no lock and write no file; a call reads one SQLite transaction and the
  vectors at that transaction's generation: the state before a write or after it;
* every call follows writes of other processes and a reindex's switch, no restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from . import manifest as manifests
from . import query as queries
from . import reindex as reindexing
from . import retrieval
from .analyze import ANALYZER_VERSION, Analyzer
from .embedders import Embedder, UnloadedEmbedder, get_embedder
from .errors import DocumentNotFound, EmbedderMismatch, IndexNotFound
from .fields import embed_fields
from .folder import FIRST_STORE, IndexFolder
from .manifest import Manifest
from .models import NewDocument
from .ranking import FusionWeights, Ranking, rank_documents
from .results import SearchHit, SearchResponse, build_hits
from .settings import Settings
from .store import Store

__all__ = ["KnowledgeBase", "SearchHit", "SearchResponse"]


class KnowledgeBase:
    """Documents, chunks, vectors and the lexical index of one index folder."""

    def __init__(
        self, folder: Path, embedder: Embedder, settings: Settings, manifest: Manifest
    ) -> None:
        self.embedder = embedder
        self.settings = settings
        self.analyzer = Analyzer()
        self.index = IndexFolder(folder, manifest, settings)
        self.index.on_switch = self._follow_embedder
        self._bulk = threading.local()

    @property
    def folder(self) -> Path:
        """The index folder."""
        return self.index.path

    @property
    def on_wait(self) -> Callable[[str], None] | None:
        """Told once, in one line, when a write waits for another writer."""
        return self.index.on_wait

    @on_wait.setter
    def on_wait(self, callback: Callable[[str], None] | None) -> None:
        self.index.on_wait = callback

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        folder: Path | None = None,
        embedder: Embedder | None = None,
        create: bool = True,
        load_model: bool = True,
        verify: bool = True,
    ) -> KnowledgeBase:
        """Open (or create) the knowledge base in ``folder`` (default: settings.index).

        The embedder and analyzer are checked against the manifest before a model loads.
        With ``load_model=False`` (an existing index only) nothing can be embedded, but
        reads and removals work without the model's start-up cost. ``verify=False``
        skips the checks, for ``reindex`` of an index built otherwise.
        """
        folder = Path(folder or settings.index)
        manifest = manifests.read(folder)
        if manifest is None and (not create or not load_model):
            raise IndexNotFound(
                f"no knowledge base in {folder}; create one with 'kb ingest PATH --index {folder}'"
            )
        if manifest is not None and verify:
            if embedder is not None:
                spec = embedder.name
            else:
                spec = settings.embedder if load_model else manifest.embedder
            manifests.check(folder, manifest, spec, ANALYZER_VERSION)
        if embedder is None:
            embedder = (
                get_embedder(settings.embedder)
                if load_model
                else UnloadedEmbedder(manifest.embedder, manifest.dim)
            )
        if manifest is None:
            new = Manifest(
                embedder.name, embedder.dim, ANALYZER_VERSION, settings.vector_index, FIRST_STORE
            )
            manifest = IndexFolder.create(folder, new, settings.write_timeout)
        if verify and manifest.dim != embedder.dim:
            raise EmbedderMismatch(
                f"embedder {embedder.name!r} gives {embedder.dim}-d vectors, "
                f"index {folder} holds {manifest.dim}-d"
            )
        kb = cls(folder, embedder, settings, manifest)
        if create:
            kb.index.remove_unfinished_stores()
        return kb

    def close(self) -> None:
        """Release the SQLite connections."""
        self.index.close()

    def warm_up(self) -> None:
        """Load the model, the compound lexicon and the vectors now, not on the first query."""
        self.embedder.embed_queries(["Aufwärmen"])
        self.analyzer.query_terms("Wasserstoffstrategie")
        with self.index.reading():
            pass

    def _follow_embedder(self, manifest: Manifest) -> None:
        """A reindex switched to another embedder: use it from now on."""
        if manifest.embedder == self.embedder.name:
            return
        if isinstance(self.embedder, UnloadedEmbedder):
            self.embedder = UnloadedEmbedder(manifest.embedder, manifest.dim)
        else:
            self.embedder = get_embedder(manifest.embedder)

    # -- writes -------------------------------------------------------------------------
    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Write many documents; the vector snapshot is saved once, at the end.

        Each document still commits on its own (an interruption loses at most the one
        being written), and other writers may write between documents.
        """
        depth = getattr(self._bulk, "depth", 0)
        self._bulk.depth = depth + 1
        try:
            yield
        finally:
            self._bulk.depth = depth
            if depth == 0:
                with self.index.writing(save=True):
                    pass

    def add_document(
        self,
        doc_id: str | None,
        doc: NewDocument,
        vectors: np.ndarray | None = None,
        fmt: str | None = None,
    ) -> str:
        """Write a document with all its chunks and vectors; returns its id.

        A document from the same source is replaced and keeps its id. Otherwise
        ``doc_id`` (or ``doc.doc_id``) is used if no other document has it, else a
        suffix from the source makes it unique. Embeds the chunks unless ``vectors``
        are given. Either everything is written or nothing.
        """
        if vectors is None:
            vectors = self.embedder.embed_passages([c.text for c in doc.chunks])
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(doc.chunks), self.embedder.dim):
            raise ValueError(
                f"expected vectors of shape ({len(doc.chunks)}, {self.embedder.dim}), "
                f"got {vectors.shape}"
            )
        fields = embed_fields(
            self.embedder, doc, vectors, sentence_vectors=self.settings.sentence_vectors
        )
        chunk_terms = [self.analyzer.chunk_fields(c.text) for c in doc.chunks]
        title_terms = " ".join(self.analyzer.index_terms(doc.title))
        with self.index.writing() as handle:
            state = handle.store.source_state(doc.source)
            target = state[0] if state else _free_id(handle.store, doc_id or doc.doc_id, doc.source)
            changes = handle.store.upsert_document(
                target, doc, vectors, chunk_terms, title_terms, fmt, fields
            )
            handle.mirror.apply(changes)
        return target

    def remove_document(self, doc_id: str) -> None:
        """Delete a document and everything derived from it."""
        with self.index.writing() as handle:
            changes = handle.store.delete_document(doc_id)
            if changes is None:
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            handle.mirror.apply(changes)

    def reindex(self, embedder_spec: str | None = None) -> int:
        """Re-embed (with ``embedder_spec``, default: the index's) and re-analyse every
        document into a new store and switch to it; returns the number of documents."""
        spec = embedder_spec or self.index.current().manifest.embedder
        embedder = (
            self.embedder
            if spec == self.embedder.name and not isinstance(self.embedder, UnloadedEmbedder)
            else get_embedder(spec)
        )
        count = reindexing.rebuild(
            self.index, embedder, self.analyzer, sentence_vectors=self.settings.sentence_vectors
        )
        self.embedder = embedder
        return count

    # -- reads --------------------------------------------------------------------------
    def source_state(self, source: str) -> tuple[str, str] | None:
        """(doc id, sha256) of the document that came from ``source``, if any."""
        return self.index.current().store.source_state(source)

    def get_document(self, doc_id: str) -> dict:
        """Metadata and full text of a document."""
        doc = self.index.current().store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return doc

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[dict]:
        """Documents' metadata, newest report first."""
        return self.index.current().store.list_documents(offset, limit)

    def generation(self) -> tuple[str, int]:
        """(active store, generation): changes with every commit and every switch, so
        it can tag cached answers (an HTTP ETag, say). Cheap: no vectors are touched."""
        handle = self.index.current()
        return handle.manifest.store, handle.store.generation()

    def stats(self) -> dict:
        """Counts, the generation and the embedder of this knowledge base."""
        with self.index.reading() as view:
            counts = view.store.counts()
            counts["vectors"] = len(view.mirror)
            counts["generation"] = view.generation
        manifest = self.index.current().manifest
        counts.update(
            index=str(self.folder),
            embedder=manifest.embedder,
            dim=manifest.dim,
            vector_index=manifest.vector_index,
        )
        return counts

    def search(
        self,
        query: str,
        k: int | None = None,
        offset: int | None = 0,
        ranking: Ranking | str | None = None,
    ) -> SearchResponse:
        """Reports for a query, best first: one hit per document with its best passage."""
        started = time.perf_counter()
        query = queries.clean_query(query, self.settings)
        k, offset = queries.paging(k, offset, self.settings)
        ranking = Ranking.parse(ranking or self.settings.ranking)
        n = max(self.settings.candidates, (k + offset) * 5)
        qvec = self.embedder.embed_queries([query])[0] if ranking is not Ranking.LEXICAL else None
        terms = self.analyzer.query_terms(query) if ranking is not Ranking.DENSE else []
        weights = FusionWeights.from_settings(self.settings)
        with self.index.reading() as view:
            evidence = retrieval.collect(view, qvec, terms, n, ranking, weights)
            ranked = rank_documents(evidence, method=ranking, weights=weights)
            page = ranked[offset : offset + k]
            chunks = view.store.chunks([r.chunk_id for r in page])
            metas = view.store.documents_meta([r.doc_id for r in page])
        hits = build_hits(page, chunks, metas, query, self.analyzer, self.settings.snippet_chars)
        took = round((time.perf_counter() - started) * 1000, 2)
        return SearchResponse(query, len(ranked), took, hits, k, offset)


def _free_id(store: Store, wanted: str | None, source: str) -> str:
    """``wanted`` if no document has it, else made unique by a hash of the source."""
    base = wanted or "dokument"
    digest = hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest()
    for candidate in (base, f"{base}-{digest[:6]}", f"{base}-{digest[:12]}", f"{base}-{digest}"):
        if not store.id_taken(candidate):
            return candidate
    raise ValueError(f"no free id for {source!r}")
