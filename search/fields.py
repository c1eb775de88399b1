"""A document's vectors besides its passages: sentences, centroid and metadata.

* one vector per sentence of each chunk (if ``sentence_vectors``; a one-sentence chunk
  reuses its passage vector);
* the normalised mean of the passage vectors (the document's centroid);
* one vector of the metadata text (title · topics · event).
"""

from __future__ import annotations

import numpy as np

from .embedders import Embedder
from .models import NewDocument
from .store import FieldVector
from .text import split_sentences


def metadata_text(doc: NewDocument) -> str:
    """The text of a document's metadata vector: title, topics and event."""
    parts = [doc.title or "", *doc.topics, doc.event or ""]
    return " · ".join(p.strip() for p in parts if p and p.strip())


def embed_fields(
    embedder: Embedder,
    doc: NewDocument,
    passage_vectors: np.ndarray,
    *,
    sentence_vectors: bool,
) -> list[FieldVector]:
    """The field vectors of ``doc`` whose passages have ``passage_vectors``."""
    fields: list[FieldVector] = []
    if sentence_vectors:
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
            vecs = embedder.embed_passages(texts)
            fields.extend(FieldVector("sentence", i, v) for i, v in zip(owners, vecs, strict=True))
    if len(passage_vectors):
        mean = passage_vectors.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            fields.append(FieldVector("document", None, (mean / norm).astype(np.float32)))
    meta = metadata_vector(embedder, doc)
    if meta is not None:
        fields.append(meta)
    return fields


def metadata_vector(embedder: Embedder, doc: NewDocument) -> FieldVector | None:
    """The vector of the document's metadata text, or None when it has none."""
    meta = metadata_text(doc)
    if not meta:
        return None
    return FieldVector("metadata", None, embedder.embed_passages([meta])[0])
