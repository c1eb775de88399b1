"""A document's vectors besides its passages: sentences, centroid and metadata.

* one vector per sentence of each chunk (if ``sentence_vectors``; a one-sentence chunk
  reuses its passage vector);
* the normalised mean of the passage vectors (the document's centroid);
* one vector of the metadata text (title · topics · event).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .embedders import Embedder
from .models import NewDocument
from .store import FieldVector
from .text import split_sentences


def metadata_text(doc: NewDocument) -> str:
    """The text of a document's metadata vector: title, topics and event."""
    parts = [doc.title or "", *doc.topics, doc.event or ""]
    return " · ".join(p.strip() for p in parts if p and p.strip())


class EmbeddingPlan:
    """The texts to embed for several documents, and how their vectors become each
    document's passage and field vectors: the passages (of documents without ``given``
    vectors), the sentences of passages with more than one, and the metadata texts, in
    one list. One large call keeps the embedder's matrices large and lets
    :class:`search.parallel.EmbeddingPool` split it evenly."""

    def __init__(
        self,
        docs: Sequence[NewDocument],
        given: Sequence[np.ndarray | None],
        *,
        sentence_vectors: bool,
    ) -> None:
        self.docs, self.given = list(docs), list(given)
        self.texts: list[str] = []
        for doc, vecs in zip(self.docs, self.given, strict=True):
            if vecs is None:
                self.texts.extend(c.text for c in doc.chunks)
        self._passages = len(self.texts)
        self._owners: list[tuple[int, int]] = []  # (document, chunk) of each sentence
        self._singles: list[tuple[int, int]] = []  # one-sentence chunks: passage vector
        if sentence_vectors:
            for d, doc in enumerate(self.docs):
                for i, chunk in enumerate(doc.chunks):
                    sentences = split_sentences(chunk.text)
                    if len(sentences) <= 1:
                        self._singles.append((d, i))
                    else:
                        self.texts.extend(sentences)
                        self._owners.extend([(d, i)] * len(sentences))
        metas = [(d, metadata_text(doc)) for d, doc in enumerate(self.docs)]
        self._metas = [d for d, text in metas if text]
        self.texts.extend(text for _, text in metas if text)

    def assemble(self, vectors: np.ndarray, dim: int) -> list[tuple[np.ndarray, list[FieldVector]]]:
        """Each document's passage vectors and field vectors, from the vectors of
        :attr:`texts` (in order)."""
        if len(vectors) != len(self.texts):
            raise ValueError(f"expected {len(self.texts)} vectors, got {len(vectors)}")
        passages, start = [], 0
        for doc, vecs in zip(self.docs, self.given, strict=True):
            if vecs is not None:
                passages.append(np.asarray(vecs, dtype=np.float32))
            else:
                passages.append(vectors[start : start + len(doc.chunks)].reshape(-1, dim))
                start += len(doc.chunks)
        fields: list[list[FieldVector]] = [[] for _ in self.docs]
        for d, i in self._singles:
            fields[d].append(FieldVector("sentence", i, passages[d][i]))
        start = self._passages
        sentences = vectors[start : start + len(self._owners)]
        for (d, i), vec in zip(self._owners, sentences, strict=True):
            fields[d].append(FieldVector("sentence", i, vec))
        for d, doc_vectors in enumerate(passages):
            if len(doc_vectors):
                mean = doc_vectors.mean(axis=0)
                norm = float(np.linalg.norm(mean))
                if norm > 0:
                    centroid = (mean / norm).astype(np.float32)
                    fields[d].append(FieldVector("document", None, centroid))
        start += len(self._owners)
        for d, vec in zip(self._metas, vectors[start:], strict=True):
            fields[d].append(FieldVector("metadata", None, vec))
        return list(zip(passages, fields, strict=True))


def embed_documents(
    embedder: Embedder,
    docs: Sequence[NewDocument],
    given: Sequence[np.ndarray | None],
    *,
    sentence_vectors: bool,
) -> list[tuple[np.ndarray, list[FieldVector]]]:
    """Passage vectors and field vectors of several documents, in one embedder call
    (see :class:`EmbeddingPlan`)."""
    plan = EmbeddingPlan(docs, given, sentence_vectors=sentence_vectors)
    return plan.assemble(embed_all(embedder, plan.texts), embedder.dim)


def embed_all(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors of ``texts``, shape (len(texts), dim), also for no texts."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return embedder.embed_passages(texts)


def metadata_vector(embedder: Embedder, doc: NewDocument) -> FieldVector | None:
    """The vector of the document's metadata text, or None when it has none."""
    meta = metadata_text(doc)
    if not meta:
        return None
    return FieldVector("metadata", None, embedder.embed_passages([meta])[0])
