"""The knowledge base: one folder with a SQLite store, a FAISS copy of the vectors and
a manifest naming the embedder. All reads and writes of the adapters go through here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .analyze import Analyzer, fts_query
from .embedders import Embedder, UnloadedEmbedder, get_embedder
from .errors import DocumentNotFound, EmbedderMismatch, IndexNotFound, InvalidQuery
from .models import NewDocument
from .ranking import (
    RANKINGS,
    Evidence,
    FusionWeights,
    RankedDoc,
    expand_query,
    query_kind,
    rank_documents,
    term_coverage,
)
from .settings import Settings
from .snippet import make_snippet
from .store import FieldVector, Store
from .text import split_sentences
from .vectors import VectorIndex, make_vector_index

log = logging.getLogger(__name__)

DB_FILE = "kb.sqlite"
VECTORS_FILE = "vectors.faiss"
#: FAISS copy of the field vectors (sentences, document centroids, metadata)
FIELDS_FILE = "fields.faiss"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "write.lock"


@dataclass
class SearchHit:
    """One report in a result list, with its best passage."""

    id: str
    title: str
    snippet: str
    highlights: list[tuple[int, int]]
    score: float
    date: str | None
    event: str | None
    location: str | None
    organiser: str | None
    topics: list[str]
    source: str
    source_url: str | None
    page: int | None
    format: str | None


@dataclass
class SearchResponse:
    """What a search returns; ``to_dict`` is the exact JSON of the HTTP API."""

    query: str
    total: int
    took_ms: float
    results: list[SearchHit] = field(default_factory=list)
    k: int = 10
    offset: int = 0

    def to_dict(self) -> dict:
        """JSON-ready form shared by the HTTP API and ``kb search --json``."""
        data = asdict(self)
        for hit in data["results"]:
            hit["highlights"] = [list(h) for h in hit["highlights"]]
        return data


@dataclass
class _Seen:
    """What one search has read from the store so far, so that its second stage reads
    only what is new: chunk owners, field-vector owners, the field ids of document
    centroids, and coverages (``covered``: chunks whose coverage is known, also 0)."""

    chunk_docs: dict[int, str] = field(default_factory=dict)
    fields: dict[int, tuple[str, int | None, str]] = field(default_factory=dict)
    centroids: dict[str, int] = field(default_factory=dict)
    coverage: dict[int, float] = field(default_factory=dict)
    covered: set[int] = field(default_factory=set)
    #: ids of the passage and field hits of the first stage, for rescoring
    passage_hits: list[int] = field(default_factory=list)
    field_hits: list[int] = field(default_factory=list)


def _read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def check_embedder(folder: Path, spec: str) -> None:
    """Raise EmbedderMismatch if the index in ``folder`` was built with another embedder.

    Cheap: reads the manifest only, so it runs before a model is loaded.
    """
    manifest = _read_manifest(folder)
    if manifest and manifest["embedder"] != spec:
        raise EmbedderMismatch(
            f"index {folder} was built with embedder {manifest['embedder']!r} "
            f"({manifest['dim']}-d) but {spec!r} is configured; configure "
            f"KB_EMBEDDER={manifest['embedder']} or re-embed everything with "
            f"'kb reindex --index {folder} --embedder {spec}'"
        )


class KnowledgeBase:
    """Documents, chunks, vectors and the lexical index of one folder."""

    def __init__(self, folder: Path, embedder: Embedder, settings: Settings) -> None:
        self.folder = folder
        self.embedder = embedder
        self.settings = settings
        self.analyzer = Analyzer()
        self._lock = threading.RLock()
        manifest = _read_manifest(folder)
        if manifest is None:
            folder.mkdir(parents=True, exist_ok=True)
            manifest = {
                "embedder": embedder.name,
                "dim": embedder.dim,
                "vector_index": settings.vector_index,
                "format": 1,
            }
            tmp = folder / (MANIFEST_FILE + ".tmp")
            tmp.write_text(json.dumps(manifest, indent=2))
            os.replace(tmp, folder / MANIFEST_FILE)
        if manifest["embedder"] != embedder.name or manifest["dim"] != embedder.dim:
            check_embedder(folder, embedder.name)
            raise EmbedderMismatch(
                f"embedder {embedder.name!r} gives {embedder.dim}-d vectors, "
                f"index {folder} holds {manifest['dim']}-d"
            )
        self.manifest = manifest
        self.store = Store(folder / DB_FILE)
        self._vectors: VectorIndex = make_vector_index(manifest["vector_index"], embedder.dim)
        self._fields: VectorIndex = make_vector_index(manifest["vector_index"], embedder.dim)
        self._vec_generation = -1
        self._sync()

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        folder: Path | None = None,
        embedder: Embedder | None = None,
        create: bool = True,
        load_model: bool = True,
    ) -> KnowledgeBase:
        """Open (or create) the knowledge base in ``folder`` (default: settings.index).

        The embedder is checked against the manifest before a model is loaded. With
        ``load_model=False`` (an existing index only) nothing can be embedded, but
        reads and removals work without the model's start-up cost.
        """
        folder = Path(folder or settings.index)
        manifest = _read_manifest(folder)
        if manifest is None and (not create or not load_model):
            raise IndexNotFound(
                f"no knowledge base in {folder}; create one with 'kb ingest PATH --index {folder}'"
            )
        if embedder is None and not load_model:
            embedder = UnloadedEmbedder(manifest["embedder"], manifest["dim"])
        if embedder is None:
            check_embedder(folder, settings.embedder)
            embedder = get_embedder(settings.embedder)
        return cls(folder, embedder, settings)

    def close(self) -> None:
        """Release the SQLite connection."""
        self.store.close()

    def warm_up(self) -> None:
        """Load the model weights and the compound lexicon now, not on the first query."""
        self.embedder.embed_queries(["Aufwärmen"])
        self.analyzer.query_terms("Wasserstoffstrategie")

    # -- consistency --------------------------------------------------------------
    def _sync(self) -> None:
        """Bring the in-memory FAISS copy to the store's generation.

        Another process (a CLI ingest next to a running server) may have written.
        """
        gen = self.store.generation()
        if gen == self._vec_generation:
            return
        self._vectors = self._load_or_rebuild(VECTORS_FILE, self.store.iter_vectors, gen)
        self._fields = self._load_or_rebuild(FIELDS_FILE, self.store.iter_field_vectors, gen)
        self._vec_generation = gen

    def _load_or_rebuild(self, name: str, rows, gen: int) -> VectorIndex:
        """The FAISS copy in file ``name`` if it has generation ``gen``, else rebuilt."""
        path = self.folder / name
        loaded = VectorIndex.load(path, self.embedder.dim)
        if loaded is not None and loaded[1] == gen:
            return loaded[0]
        log.info("rebuilding %s of %s from the store", name, self.folder)
        vectors = make_vector_index(self.manifest["vector_index"], self.embedder.dim)
        for ids, vecs in rows(self.embedder.dim):
            vectors.add(ids, vecs)
        vectors.save(path, gen)
        return vectors

    def _save_vectors(self, gen: int) -> None:
        self._vectors.save(self.folder / VECTORS_FILE, gen)
        self._fields.save(self.folder / FIELDS_FILE, gen)
        self._vec_generation = gen

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Serialise writers across threads and processes, starting from fresh state."""
        with self._lock, open(self.folder / LOCK_FILE, "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                self._sync()
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    # -- writes -------------------------------------------------------------------
    def source_state(self, source: str) -> tuple[str, str] | None:
        """(doc id, sha256) of the document that came from ``source``, if any."""
        with self._lock:
            return self.store.source_state(source)

    def id_taken(self, doc_id: str) -> bool:
        """Whether a document already uses this id."""
        with self._lock:
            return self.store.id_taken(doc_id)

    def add_document(
        self,
        doc_id: str,
        doc: NewDocument,
        vectors: np.ndarray | None = None,
        fmt: str | None = None,
    ) -> None:
        """Write a document (replacing one with the same id) with all its chunks.

        Embeds the chunks unless ``vectors`` are given. Either everything is written
        or nothing.
        """
        if vectors is None:
            vectors = self.embed_chunks(doc)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(doc.chunks), self.embedder.dim):
            raise ValueError(
                f"expected vectors of shape ({len(doc.chunks)}, {self.embedder.dim}), "
                f"got {vectors.shape}"
            )
        fields = self.embed_fields(doc, vectors)
        chunk_terms = [self.analyzer.chunk_fields(c.text) for c in doc.chunks]
        title_terms = " ".join(self.analyzer.index_terms(doc.title))
        with self._writing():
            res = self.store.upsert_document(
                doc_id, doc, vectors, chunk_terms, title_terms, fmt, fields
            )
            self._vectors.remove(np.asarray(res.removed_chunks, dtype=np.int64))
            self._vectors.add(np.asarray(res.new_chunks, dtype=np.int64), vectors)
            self._fields.remove(np.asarray(res.removed_fields, dtype=np.int64))
            if fields:
                self._fields.add(
                    np.asarray(res.new_fields, dtype=np.int64), np.stack([f.vector for f in fields])
                )
            self._save_vectors(res.generation)

    def embed_chunks(self, doc: NewDocument) -> np.ndarray:
        """Passage vectors of a document's chunks."""
        return self.embedder.embed_passages([c.text for c in doc.chunks])

    def embed_fields(self, doc: NewDocument, passage_vectors: np.ndarray) -> list[FieldVector]:
        """The document's vectors besides its passages.

        One per sentence of each chunk (if ``sentence_vectors``; a one-sentence chunk
        reuses its passage vector), the normalised mean of the passage vectors and one
        of the metadata text (title, topics, event).
        """
        fields: list[FieldVector] = []
        if self.settings.sentence_vectors:
            texts: list[str] = []
            owners: list[int] = []
            for i, chunk in enumerate(doc.chunks):
                sentences = split_sentences(chunk.text)
                if len(sentences) <= 1:
                    fields.append(FieldVector("sentence", i, passage_vectors[i]))
                    continue
                texts.extend(sentences)
                owners.extend([i] * len(sentences))
            if texts:
                vecs = self.embedder.embed_passages(texts)
                fields.extend(
                    FieldVector("sentence", i, v) for i, v in zip(owners, vecs, strict=True)
                )
        if len(passage_vectors):
            mean = passage_vectors.mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                fields.append(FieldVector("document", None, (mean / norm).astype(np.float32)))
        meta = metadata_text(doc)
        if meta:
            fields.append(FieldVector("metadata", None, self.embedder.embed_passages([meta])[0]))
        return fields

    def remove_document(self, doc_id: str) -> None:
        """Delete a document and everything derived from it."""
        with self._writing():
            result = self.store.delete_document(doc_id)
            if result is None:
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            self._vectors.remove(np.asarray(result.removed_chunks, dtype=np.int64))
            self._fields.remove(np.asarray(result.removed_fields, dtype=np.int64))
            self._save_vectors(result.generation)

    # -- reads --------------------------------------------------------------------
    def get_document(self, doc_id: str) -> dict:
        """Metadata and full text of a document."""
        with self._lock:
            doc = self.store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return doc

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[dict]:
        """Documents' metadata, newest report first."""
        with self._lock:
            return self.store.list_documents(offset, limit)

    def stats(self) -> dict:
        """Counts and the embedder of this knowledge base."""
        with self._lock:
            self._sync()
            counts = self.store.counts()
            counts["vectors"] = len(self._vectors)
        counts.update(
            index=str(self.folder),
            embedder=self.manifest["embedder"],
            dim=self.manifest["dim"],
            vector_index=self.manifest["vector_index"],
        )
        return counts

    def validate_query(self, query: str, k: int, offset: int = 0) -> str:
        """The cleaned query, or InvalidQuery with a message a user can act on."""
        if query is None:
            raise InvalidQuery("query is missing")
        query = " ".join(query.split())
        if not query:
            raise InvalidQuery("query is empty")
        if len(query) > self.settings.max_query_chars:
            raise InvalidQuery(
                f"query is too long ({len(query)} characters, at most "
                f"{self.settings.max_query_chars})"
            )
        if not 1 <= k <= self.settings.max_k:
            raise InvalidQuery(f"k must be between 1 and {self.settings.max_k}")
        if offset < 0:
            raise InvalidQuery("offset must not be negative")
        return query

    def fusion_weights(self) -> FusionWeights:
        """The hybrid ranking's parameters from the settings."""
        s = self.settings
        return FusionWeights(
            lexical=s.lexical_weight,
            sentence=s.sentence_weight,
            document=s.document_weight,
            metadata=s.metadata_weight,
            topic_lexical=s.topic_lexical_weight,
            topic_document=s.topic_document_weight,
            feedback_docs=s.feedback_docs,
            feedback_weight=s.feedback_weight,
        )

    def _evidence(
        self,
        qvec: np.ndarray | None,
        terms: list[str],
        n: int,
        ranking: str,
        weights: FusionWeights,
        seen: _Seen,
    ) -> Evidence:
        """Run the retrievers a ranking needs (caller holds the lock, state synced)."""
        ev = self._dense_evidence(qvec, n, weights, seen) if qvec is not None else Evidence()
        if terms:
            lex = self.store.lexical_search(fts_query(terms), n)
            self._learn_owners([c for c, _ in lex], seen)
            ev.lexical = [(c, seen.chunk_docs[c], s) for c, s in lex if c in seen.chunk_docs]
        if ranking == "hybrid":
            self._add_coverage(ev, terms, weights, seen)
        return ev

    def _learn_owners(self, chunk_ids: list[int], seen: _Seen) -> None:
        new = [c for c in chunk_ids if c not in seen.chunk_docs]
        if new:
            seen.chunk_docs.update(self.store.chunk_docs(new))

    def _dense_evidence(
        self, qvec: np.ndarray, n: int, weights: FusionWeights, seen: _Seen
    ) -> Evidence:
        """Passage hits and field hits (sentences, centroids, metadata) of one vector.

        Owners are read from the store only for ids that ``seen`` does not know yet.
        """
        ids, scores = self._vectors.search(qvec, n)
        passages = list(zip(ids.tolist(), scores.tolist(), strict=True))
        field_hits: list[tuple[int, float]] = []
        if len(self._fields) and (weights.sentence or weights.document or weights.metadata):
            # sentences outnumber passages several times; documents are few
            ids, scores = self._fields.search(qvec, 4 * n)
            field_hits = list(zip(ids.tolist(), scores.tolist(), strict=True))
        self._learn_owners([c for c, _ in passages], seen)
        new_fields = [f for f, _ in field_hits if f not in seen.fields]
        if new_fields:
            seen.fields.update(self.store.field_owners(new_fields))
        seen.passage_hits = [c for c, _ in passages if c in seen.chunk_docs]
        seen.field_hits = [f for f, _ in field_hits if f in seen.fields]
        return self._field_evidence(passages, field_hits, seen)

    def _field_evidence(
        self, passages: list[tuple[int, float]], field_hits: list[tuple[int, float]], seen: _Seen
    ) -> Evidence:
        """Evidence from scored passage and field ids whose owners ``seen`` knows."""
        ev = Evidence()
        ev.passages = [(c, seen.chunk_docs[c], s) for c, s in passages if c in seen.chunk_docs]
        sentences, documents, metadata = [], {}, {}
        for f, s in field_hits:
            if f not in seen.fields:
                continue
            kind, chunk_id, doc_id = seen.fields[f]
            if kind == "sentence":
                sentences.append((chunk_id, doc_id, s))
            elif kind == "document":
                documents[doc_id] = max(s, documents.get(doc_id, -1.0))
                seen.centroids[doc_id] = f
            elif kind == "metadata":
                metadata[doc_id] = max(s, metadata.get(doc_id, -1.0))
        ev.sentences, ev.documents, ev.metadata = sentences, documents, metadata
        return ev

    def _add_coverage(
        self, ev: Evidence, terms: list[str], weights: FusionWeights, seen: _Seen
    ) -> None:
        """Fill ``ev.coverage`` for every candidate chunk; computed once per chunk."""
        if not terms or (weights.lexical <= 0 and weights.topic_lexical <= 0):
            return
        candidates = {c for c, _, _ in ev.passages} | {c for c, _, _ in ev.lexical}
        candidates |= {c for c, _, _ in ev.sentences}
        missing = candidates - seen.covered
        if missing:
            members, df, n_chunks = self.store.term_chunks(terms, missing)
            seen.coverage.update(term_coverage(members, missing, n_chunks, df))
            seen.covered |= missing
        ev.coverage = {c: seen.coverage[c] for c in candidates if c in seen.coverage}

    def _rescore(self, qvec: np.ndarray, seen: _Seen) -> Evidence:
        """The first stage's passage and field hits, scored against another vector."""

        def scored(index: VectorIndex, ids: list[int]) -> list[tuple[int, float]]:
            if not ids:
                return []
            scores = index.reconstruct(np.asarray(ids, dtype=np.int64)) @ qvec
            return list(zip(ids, scores.tolist(), strict=True))

        passages = scored(self._vectors, seen.passage_hits)
        return self._field_evidence(passages, scored(self._fields, seen.field_hits), seen)

    def _centroids(self, doc_ids: list[str], seen: _Seen) -> list[np.ndarray]:
        """Centroid vectors of ``doc_ids`` in that order: from the FAISS copy when the
        first stage saw their field ids, else from the store; documents without one
        are left out."""
        known = [d for d in doc_ids if d in seen.centroids]
        vectors = {}
        if known:
            ids = np.asarray([seen.centroids[d] for d in known], dtype=np.int64)
            vectors = dict(zip(known, self._fields.reconstruct(ids), strict=True))
        rest = [d for d in doc_ids if d not in vectors]
        if rest:
            vectors.update(self.store.document_vectors(rest, self.embedder.dim))
        return [vectors[d] for d in doc_ids if d in vectors]

    def _feedback_stage(
        self,
        qvec: np.ndarray,
        terms: list[str],
        n: int,
        ranking: str,
        weights: FusionWeights,
        first: Evidence,
        ranked: list[RankedDoc],
        seen: _Seen,
    ) -> list[RankedDoc]:
        """Topics: rank the first stage's candidates again with the query vector expanded
        by the centroids of its best documents. Needs those centroid vectors and the
        vectors of the first stage's passage and field hits (from the FAISS copies, no
        store reads); lexical hits and coverages are the first stage's."""
        feedback = self._centroids([r.doc_id for r in ranked[: weights.feedback_docs]], seen)
        if not feedback:  # an index without centroid vectors: no second stage
            return ranked
        expanded = expand_query(qvec, feedback, weights.feedback_weight)
        ev = self._rescore(expanded, seen)
        ev.lexical = first.lexical
        if ranking == "hybrid":
            self._add_coverage(ev, terms, weights, seen)
        return rank_documents(ev, method=ranking, weights=weights, kind="topic")

    def search(
        self, query: str, k: int | None = None, offset: int = 0, ranking: str | None = None
    ) -> SearchResponse:
        """Reports for a query, best first: one hit per document with its best passage."""
        started = time.perf_counter()
        k = self.settings.default_k if k is None else k
        query = self.validate_query(query, k, offset)
        ranking = ranking or self.settings.ranking
        if ranking not in RANKINGS:
            raise InvalidQuery(f"unknown ranking {ranking!r}; use one of {', '.join(RANKINGS)}")
        n = max(self.settings.candidates, (k + offset) * 5)
        qvec = self.embedder.embed_queries([query])[0] if ranking != "lexical" else None
        terms = self.analyzer.query_terms(query) if ranking != "dense" else []
        weights = self.fusion_weights()
        kind = query_kind(query) if self.settings.query_kinds else "question"
        with self._lock:
            self._sync()
            seen = _Seen()
            evidence = self._evidence(qvec, terms, n, ranking, weights, seen)
            ranked = rank_documents(evidence, method=ranking, weights=weights, kind=kind)
            if kind == "topic" and qvec is not None and weights.feedback_docs > 0 and ranked:
                ranked = self._feedback_stage(
                    qvec, terms, n, ranking, weights, evidence, ranked, seen
                )
            page = ranked[offset : offset + k]
            chunks = self.store.chunks([r.chunk_id for r in page])
            metas = self.store.documents_meta([r.doc_id for r in page])
        results = []
        for r in page:
            chunk = chunks[r.chunk_id]
            meta = metas[r.doc_id]
            spans = self.analyzer.match_spans(chunk.text, query)
            snip = make_snippet(chunk.text, spans, self.settings.snippet_chars)
            results.append(
                SearchHit(
                    id=r.doc_id,
                    title=meta["title"],
                    snippet=snip.text,
                    highlights=snip.highlights,
                    score=round(float(r.score), 6),
                    date=meta["date"],
                    event=meta["event"],
                    location=meta["location"],
                    organiser=meta["organiser"],
                    topics=meta["topics"],
                    source=meta["source"],
                    source_url=meta["source_url"],
                    page=chunk.page,
                    format=meta["format"],
                )
            )
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query, len(ranked), round(took, 2), results, k, offset)


def metadata_text(doc: NewDocument) -> str:
    """The text of a document's metadata vector: title, topics and event."""
    parts = [doc.title or "", *doc.topics, doc.event or ""]
    return " · ".join(p.strip() for p in parts if p and p.strip())


def reindex(settings: Settings, embedder_spec: str) -> int:
    """Re-embed every document of ``settings.index`` with another embedder.

    Builds the new index beside the old one from the stored chunks (no re-extraction)
    and swaps folders only when it is complete, so a failure leaves the old index as
    it was. Returns the number of documents.
    """
    import shutil

    folder = Path(settings.index)
    old = KnowledgeBase.open(settings, create=False, load_model=False)
    target = folder.with_name(folder.name + ".reindex")
    if target.exists():
        shutil.rmtree(target)
    new = KnowledgeBase.open(
        settings.model_copy(update={"index": target, "embedder": embedder_spec})
    )
    count = 0
    try:
        with old._writing():
            for doc_id in old.store.document_ids():
                doc, fmt = old.store.load_document(doc_id)
                new.add_document(doc_id, doc, fmt=fmt)
                count += 1
    except BaseException:
        new.close()
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        old.close()
    new.close()
    backup = folder.with_name(folder.name + ".old")
    if backup.exists():
        shutil.rmtree(backup)
    os.replace(folder, backup)
    os.replace(target, folder)
    shutil.rmtree(backup)
    return count
