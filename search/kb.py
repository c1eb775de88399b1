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
import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from pathlib import Path

import numpy as np

from . import changes as change_log
from . import duplicates, keys, originals, retrieval
from . import manifest as manifests
from . import query as queries
from . import reindex as reindexing
from .analyze import ANALYZER_VERSION, Analyzer
from .embedders import Embedder, UnloadedEmbedder, get_embedder
from .errors import DocumentNotFound, EmbedderMismatch, IndexNotFound
from .filters import Filters
from .folder import FIRST_STORE, IndexFolder
from .manifest import Manifest
from .models import NewDocument, Written
from .parallel import EmbeddingPool, auto_processes
from .ranking import FusionWeights, QueryKind, Ranking, query_kind
from .relevance import matching
from .results import (
    FacetValue,
    QueryMarks,
    SearchHit,
    SearchResponse,
    build_hits,
    facets_of,
)
from .settings import Settings, Sort
from .store import ChunkRow
from .writing import Incoming, Writer

__all__ = ["Incoming", "KnowledgeBase", "SearchHit", "SearchResponse", "Written"]


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
        self._search_slots = threading.BoundedSemaphore(settings.search_concurrency)
        # one helper per search that may run at once (``_lexical_beside``)
        self._helpers = futures.ThreadPoolExecutor(
            settings.search_concurrency, thread_name_prefix="kb-lexical"
        )
        self._writer = Writer(self.index, self._writing_embedder, self.analyzer, settings)

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
        # a reindex killed before its switch left a folder: roll it back, with a line
        kb.index.remove_unfinished_stores()
        return kb

    def close(self) -> None:
        """Release the SQLite connections and the search helper threads."""
        self._helpers.shutdown(wait=True)
        self.index.close()

    def warm_up(self) -> None:
        """Get ready to answer queries: load the model, the compound lexicon and the
        vectors now, not on the first query, start keeping the passages' terms in memory
        (``search.postings``, unless the setting ``term_postings`` is off), and keep BLAS
        to one thread.

        A query's matrices are small: a second BLAS thread only spins, and with several
        requests at once the threads fight for the cores (measured on 3,000 reports: 98 ms
        per search with default threads against 31 ms with one).

        Then everything loaded so far leaves the garbage collector's sight
        (``gc.freeze``): a full collection otherwise walks the model's vocabulary and the
        index's objects, a pause of 50 ms in one search of dozens on 3,000 reports. And
        the young generation is collected every 10,000 allocations, not every 700: a
        search allocates tens of thousands of short-lived objects, and the collections
        cost 2 ms of a 15 ms search at 100,000 passages (and its slowest ones 41-49 ms
        against 29-31 ms).
        """
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        self.embedder.embed_queries(["Aufwärmen"])
        self.analyzer.query_terms("Wasserstoffstrategie")
        with self.index.reading():
            pass
        if self.settings.term_postings:
            self.index.follow_terms()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)

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
                pool = getattr(self._bulk, "pool", None)
                self._bulk.pool = None
                if pool is not None:
                    pool.close()
                with self.index.writing(save=True) as handle:
                    originals.sweep(self.folder, handle.store.referenced_originals())

    def _writing_embedder(self) -> Embedder:
        """The embedder of writes: within :meth:`bulk`, one that spreads large batches
        over several processes (``KB_EMBED_PROCESSES``); else the knowledge base's."""
        if getattr(self._bulk, "depth", 0) == 0:
            return self.embedder
        pool = getattr(self._bulk, "pool", None)
        if pool is None or pool.inner is not self.embedder:  # a reindex may switch it
            if pool is not None:
                pool.close()
            pool = EmbeddingPool(self.embedder, auto_processes(self.settings.embed_processes))
            self._bulk.pool = pool
        return pool

    def add_document(
        self,
        doc_id: str | None,
        doc: NewDocument,
        vectors: np.ndarray | None = None,
        fmt: str | None = None,
        *,
        actor: str = "system",
        original: bytes | None = None,
        filename: str | None = None,
        replaces: str | None = None,
    ) -> Written:
        """Write a document with all its chunks and vectors.

        A document from the same source is replaced and keeps its id. Otherwise
        ``doc_id`` (or ``doc.doc_id``) is used if no other document has it, else a
        suffix from the source makes it unique. With ``original`` (the file's bytes,
        kept in the index folder) the same file under another source is not written
        again but recorded as a further source of its report ("duplicate"). Embeds the
        chunks unless ``vectors`` are given. ``replaces`` names a document this one
        replaces whatever its source (a new file for a report; the id stays). Either
        everything is written or nothing; the change log records it under ``actor``.
        """
        item = Incoming(doc, doc_id, fmt, original, filename, replaces, vectors)
        (result,) = self.add_documents([item], actor=actor)
        if isinstance(result, Exception):
            raise result
        return result

    def add_documents(
        self, items: Sequence[Incoming], *, actor: str = "system"
    ) -> list[Written | Exception]:
        """Write several documents, embedded together; per item its outcome, or the
        exception that stopped it (the others are written all the same)."""
        return self._writer.add(items, actor)

    def add_batches(
        self, batches: Iterable[Sequence[Incoming]], *, actor: str = "system"
    ) -> Iterator[list[Written | Exception]]:
        """Write batches of documents like :meth:`add_documents`, yielding each batch's
        outcomes in order. Within :meth:`bulk`, the next batch is read (pulled from
        ``batches``) and embedded by helper processes while this one is analysed and
        committed, so that every core has work."""
        started = None
        for items in batches:
            following = self._writer.start(items, actor)
            if started is not None:
                yield self._writer.finish(started, actor)
            started = following
        if started is not None:
            yield self._writer.finish(started, actor)

    def remove_document(self, doc_id: str, *, actor: str = "system") -> None:
        """Delete a document, everything derived from it and its unshared original."""
        self._writer.remove(doc_id, actor)

    def update_metadata(self, doc_id: str, values: dict, *, actor: str = "system") -> dict:
        """Correct a document's metadata; returns it as it is now.

        A new title or new topics (or event) change what search finds: the metadata
        vector and the title terms are recomputed; passages are not re-embedded.
        """
        return self._writer.update_metadata(doc_id, values, actor)

    def create_key(self, name: str, role: str) -> str:
        """Make an API key; returns it (shown once: only its hash is stored)."""
        with self.index.writing() as handle, handle.store.write() as cur:
            return keys.create(cur, name, role)

    def revoke_key(self, name: str) -> None:
        """Revoke an API key; it fails from its next use on."""
        with self.index.writing() as handle, handle.store.write() as cur:
            keys.revoke(cur, name)

    def reindex(self, embedder_spec: str | None = None) -> int:
        """Re-embed (with ``embedder_spec``, default: the index's) and re-analyse every
        document into a new store and switch to it; returns the number of documents."""
        spec = embedder_spec or self.index.current().manifest.embedder
        embedder = (
            self.embedder
            if spec == self.embedder.name and not isinstance(self.embedder, UnloadedEmbedder)
            else get_embedder(spec)
        )
        with EmbeddingPool(embedder, auto_processes(self.settings.embed_processes)) as pool:
            count = reindexing.rebuild(
                self.index, pool, self.analyzer, sentence_vectors=self.settings.sentence_vectors
            )
        self.embedder = embedder
        return count

    # -- reads --------------------------------------------------------------------------
    def verify_key(self, token: str | None) -> keys.Key | None:
        """The active API key ``token`` is, or None."""
        return keys.verify(self.index.current().store.conn, token)

    def active_key(self, name: str, created_at: str) -> keys.Key | None:
        """The key ``name`` made at ``created_at`` if it is still active (sessions signed
        in with a key end when it is revoked)."""
        return keys.active(self.index.current().store.conn, name, created_at)

    def list_keys(self) -> list[keys.Key]:
        """All API keys (names, roles, dates; never the keys)."""
        return keys.listing(self.index.current().store.conn)

    def changes(self, offset: int = 0, limit: int = 50) -> tuple[int, list[dict]]:
        """(number of all changes, a page of the change log, newest first)."""
        return change_log.page(self.index.current().store.conn, offset, limit)

    def original(self, doc_id: str) -> tuple[Path, str | None, str | None]:
        """(path of the kept original file, its file name, its format) of a document;
        DocumentNotFound if the document or its original is missing."""
        doc = self.get_document(doc_id)
        path = originals.path(self.folder, doc["original"]) if doc["original"] else None
        if path is None or not path.is_file():
            raise DocumentNotFound(
                f"no original file is kept for {doc_id!r}", code="original_not_found"
            )
        return path, doc["filename"], doc["format"]

    def near_duplicates(self, doc_id: str) -> list[str]:
        """Ids of reports whose text is almost the same as this one's."""
        store = self.index.current().store
        row = store.conn.execute("SELECT simhash FROM documents WHERE id = ?", (doc_id,))
        found = row.fetchone()
        if found is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return [d for d, _ in duplicates.near(store.conn, found[0] or 0, exclude=[doc_id])]

    def sources(self) -> dict[str, list[str]]:
        """Every document's sources: the one it was written from, then its aliases."""
        return self.index.current().store.sources()

    def source_state(self, source: str) -> tuple[str, str] | None:
        """(doc id, sha256) of the document that came from ``source``, if any."""
        return self.index.current().store.source_state(source)

    def get_document(self, doc_id: str) -> dict:
        """Metadata and full text of a document."""
        doc = self.index.current().store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return doc

    def passages(self, doc_id: str) -> list[ChunkRow]:
        """A report's passages in order (text, page); DocumentNotFound if there is none."""
        with self.index.reading() as view:
            if not view.store.id_taken(doc_id):
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            return view.store.passages(doc_id)

    def term_spans(self, text: str, query: str) -> list[tuple[int, int]]:
        """Where the words of ``query`` (or their compound parts) occur in ``text``."""
        return self.analyzer.match_spans(text, query)

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[dict]:
        """Documents' metadata, newest report first."""
        return self.index.current().store.list_documents(offset, limit)

    def find_documents(
        self,
        offset: int = 0,
        limit: int = 50,
        *,
        text: str | None = None,
        year: int | None = None,
        topic: str | None = None,
    ) -> tuple[int, list[dict]]:
        """(number of matching reports, a page of their metadata), newest report first,
        read in one transaction. Filters: ``text`` in the title, event, location,
        organiser, source or file name; ``year`` of the date; one of the ``topics``. Each
        report carries ``last_change`` (when the change log last named it) and
        ``near_duplicates`` (ids of reports with almost the same text)."""
        store = self.index.current().store
        with store.read() as conn:
            total, rows = store.find_documents(offset, limit, text=text, year=year, topic=topic)
            for row in rows:
                fingerprint = row.pop("simhash") or 0
                near = duplicates.near(conn, fingerprint, exclude=[row["id"]])
                row["near_duplicates"] = [d for d, _ in near]
        return total, rows

    def topics(self) -> list[str]:
        """Every topic of any report, sorted."""
        return self.index.current().store.topics()

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

    def similar(self, doc_id: str, k: int | None = None) -> list[dict]:
        """The reports closest to this one (by their centroid vectors), best first, not
        itself: each one's metadata and ``score`` (cosine)."""
        k, _ = queries.paging(k, 0, self.settings)
        with self.index.reading() as view:
            if not view.store.id_taken(doc_id):
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            own = view.store.document_vectors([doc_id], self.embedder.dim).get(doc_id)
            if own is None:  # a document without passages has no centroid
                return []
            ids, scores = view.mirror.search("fields", own, k + 1, view.store.centroid_ids())
            owners = view.mirror.owners["fields"].fields(ids.tolist())
            near = [
                (owners[f][2], float(s))
                for f, s in zip(ids.tolist(), scores.tolist(), strict=True)
                if f in owners and owners[f][2] != doc_id
            ][:k]
            metas = view.store.documents_meta([d for d, _ in near])
        return [{**metas[d], "score": round(s, 6)} for d, s in near if d in metas]

    def values(self, field: str) -> list[FacetValue]:
        """Every value of a metadata field (``topics``, ``event``, ``organiser``,
        ``location``, ``format``, ``language``) with its number of reports."""
        with self.index.reading() as view:
            return [FacetValue(v, c) for v, c in view.store.value_counts(field)]

    def search(
        self,
        query: str,
        k: int | None = None,
        offset: int | None = 0,
        ranking: Ranking | str | None = None,
        *,
        filters: Filters | None = None,
        sort: Sort | str = Sort.RELEVANCE,
        every_candidate: bool = False,
        facet_limit: int | None = None,
    ) -> SearchResponse:
        """Reports for a query: one hit per matching report with its best passage.

        ``filters`` narrow the candidates before ranking; ``sort`` orders the matching
        reports by relevance or by date (newest first); ``total`` and the facets count
        all matching reports (``search.relevance``), the facets with their ``facet_limit``
        most frequent values (default: the setting). ``every_candidate`` returns every
        ranked candidate instead, for measuring the ranking itself (``kb eval``).
        At most ``search_concurrency`` searches run at once; ``took_ms`` excludes the wait.
        """
        with self._search_slots:
            return self._search(
                query, k, offset, ranking, filters, sort, every_candidate, facet_limit
            )

    @contextlib.contextmanager
    def _lexical_beside(
        self,
        view: retrieval.View,
        terms: list[str],
        n: int,
        ranking: Ranking,
        within: retrieval.Scope | None,
        words: list | None,
    ) -> Iterator[Callable[[], retrieval.LexicalHits] | None]:
        """Start the lexical retriever on a helper thread, in this read transaction, and
        yield the call that waits for its result; None if it runs inline later, on the
        view's in-memory postings (``search.postings``: 0.1-0.2 ms less per search and
        0.2-0.45 ms less CPU than on the thread, at 1k and 100k passages).

        On FTS5 it reads only SQLite, and SQLite and numpy let go of the GIL while they
        work, so BM25 runs while the query is embedded and the vectors are searched: 1.6
        ms less per search at 100,000 passages (median; 2 ms at the slowest). The connection is
        the caller's, which does not touch it until the result is in; leaving waits for
        the helper in any case, so the read transaction never ends under it.
        """
        if not terms or retrieval.postings_for(view, terms) is not None:
            yield None  # in memory it takes well under a millisecond: not worth a thread
            return
        future = self._helpers.submit(
            retrieval.lexical_candidates, view, terms, n, ranking, within, words, view.store.conn
        )
        try:
            yield future.result
        finally:
            futures.wait([future])

    def _search(
        self,
        query: str,
        k: int | None,
        offset: int | None,
        ranking: Ranking | str | None,
        filters: Filters | None,
        sort: Sort | str,
        every_candidate: bool,
        facet_limit: int | None,
    ) -> SearchResponse:
        started = time.perf_counter()
        query = queries.clean_query(query, self.settings)
        k, offset = queries.paging(k, offset, self.settings)
        ranking = Ranking.parse(ranking or self.settings.ranking)
        sort = Sort.parse(sort)
        # a fixed depth: every page of one query ranks the same candidates (stable paging)
        n = self.settings.candidates
        words = self.analyzer.query_words(query) if ranking is not Ranking.DENSE else []
        terms = list(dict.fromkeys(t for whole, parts in words for t in (whole, *parts)))
        weights = FusionWeights.from_settings(self.settings)
        kind = query_kind(query) if self.settings.query_kinds else QueryKind.QUESTION
        with self.index.reading() as view:
            within = retrieval.scope(view, filters or Filters())
            # parts of known words are left out of the BM25 candidate search only where
            # the dense side and the coverage of all terms rank (lexical-only: 0.910 ->
            # 0.837 nDCG@10 on corpus/eval de without them; hybrid unchanged)
            hybrid = ranking is Ranking.HYBRID
            lexical_words = words if hybrid else None
            with self._lexical_beside(view, terms, n, ranking, within, lexical_words) as lexical:
                qvec = (
                    self.embedder.embed_queries([query])[0]
                    if ranking is not Ranking.LEXICAL
                    else None
                )
                ranked, first_top = retrieval.rank(
                    view, qvec, terms, n, ranking, weights, kind, within, lexical_words, lexical
                )
            found = (
                ranked
                if every_candidate
                else matching(ranked, first_top, kind, ranking, self.settings)
            )

            def read_metas(doc_ids: list[str]) -> dict[str, dict]:
                return view.store.documents_meta(doc_ids, view.generation)

            found_ids = [r.doc_id for r in found]
            if sort is Sort.DATE:  # newest first; undated last; then by relevance
                dated = read_metas(found_ids)
                found = sorted(
                    found, key=lambda r: (dated[r.doc_id]["date"] or "", r.score), reverse=True
                )
            page = found[offset : offset + k]
            metas = read_metas([r.doc_id for r in page])
            # the facets of all matching reports: read only those new to the table
            limit = self.settings.facet_limit if facet_limit is None else facet_limit
            facets = facets_of(
                found_ids, read_metas, view.store.facet_table(view.generation), limit
            )
            chunks = view.store.chunks([r.chunk_id for r in page])
            query_marks = QueryMarks(query, self.analyzer)
            marked = {c: query_marks.of(chunk.text) for c, chunk in chunks.items()}
            # sentence vectors only for the passages without a query word to mark
            unmarked = [c for c, (spans, _) in marked.items() if not spans]
            sentences = (
                view.store.sentence_vectors(unmarked, self.embedder.dim)
                if qvec is not None and unmarked
                else {}
            )
        hits = build_hits(page, chunks, metas, marked, sentences, qvec, self.settings.snippet_chars)
        took = round((time.perf_counter() - started) * 1000, 2)
        return SearchResponse(query, len(found), took, hits, k, offset, sort.value, facets)
