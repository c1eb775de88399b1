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


def embed_documents(
    embedder: Embedder,
    docs: Sequence[NewDocument],
    given: Sequence[np.ndarray | None],
    *,
    sentence_vectors: bool,
) -> list[tuple[np.ndarray, list[FieldVector]]]:
    """Passage vectors and field vectors of several documents, in few embedder calls:
    all passages (of documents without ``given`` vectors) together, then all
    sentences, then all metadata texts."""
    texts = [
        c.text for doc, vecs in zip(docs, given, strict=True) if vecs is None for c in doc.chunks
    ]
    embedded = iter(embedder.embed_passages(texts)) if texts else iter(())
    passages = [
        np.asarray(vecs, dtype=np.float32)
        if vecs is not None
        else np.asarray([next(embedded) for _ in doc.chunks], dtype=np.float32).reshape(
            len(doc.chunks), embedder.dim
        )
        for doc, vecs in zip(docs, given, strict=True)
    ]
    fields: list[list[FieldVector]] = [[] for _ in docs]
    if sentence_vectors:
        texts, owners = [], []
        for d, doc in enumerate(docs):
            for i, chunk in enumerate(doc.chunks):
                sentences = split_sentences(chunk.text)
                if len(sentences) <= 1:  # one sentence: the passage vector is its vector
                    fields[d].append(FieldVector("sentence", i, passages[d][i]))
                    continue
                texts.extend(sentences)
                owners.extend([(d, i)] * len(sentences))
        if texts:
            for (d, i), vec in zip(owners, embedder.embed_passages(texts), strict=True):
                fields[d].append(FieldVector("sentence", i, vec))
    for d, vectors in enumerate(passages):
        if len(vectors):
            mean = vectors.mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                fields[d].append(FieldVector("document", None, (mean / norm).astype(np.float32)))
    metas = [(d, metadata_text(doc)) for d, doc in enumerate(docs)]
    metas = [(d, text) for d, text in metas if text]
    if metas:
        vectors = embedder.embed_passages([text for _, text in metas])
        for (d, _), vec in zip(metas, vectors, strict=True):
            fields[d].append(FieldVector("metadata", None, vec))
    return list(zip(passages, fields, strict=True))


def metadata_vector(embedder: Embedder, doc: NewDocument) -> FieldVector | None:
    """The vector of the document's metadata text, or None when it has none."""
    meta = metadata_text(doc)
    if not meta:
        return None
    return FieldVector("metadata", None, embedder.embed_passages([meta])[0])
