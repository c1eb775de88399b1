"""Evaluate search on a BEIR folder: index its corpus (if it has one) and run its queries.

A corpus entry becomes one document whose id is the entry's ``_id`` and whose title is
the entry's title, never its ``_id``: a benchmark's ids can name the answer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from search.evaluate import evaluate_index, load_beir
from search.kb import KnowledgeBase
from search.models import NewDocument
from search.settings import Settings

from .chunk import chunk_document


def index_corpus(kb: KnowledgeBase, corpus: list[dict]) -> None:
    """Write a BEIR corpus into ``kb``: one document per entry, ``_id`` as its id."""
    settings = kb.settings
    with kb.bulk():
        for row in corpus:
            text = row.get("text") or ""
            chunks = chunk_document(
                text, None, max_chars=settings.chunk_max_chars, min_chars=settings.chunk_min_chars
            )
            if not chunks:
                continue
            doc = NewDocument(
                source=f"beir:{row['_id']}",
                sha256="",
                text=text,
                chunks=chunks,
                title=row.get("title") or "",
            )
            kb.add_document(str(row["_id"]), doc)


def evaluate_folder(
    folder: Path,
    settings: Settings,
    *,
    split: str = "test",
    index: Path | None = None,
    language: str | None = None,
    ranking: str | None = None,
) -> dict:
    """Evaluate search on a BEIR folder; with a corpus, in a temporary index."""
    bench = load_beir(folder, split)
    if bench.corpus is not None:
        with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
            temp_settings = settings.model_copy(update={"index": Path(tmp) / "index"})
            kb = KnowledgeBase.open(temp_settings)
            try:
                index_corpus(kb, bench.corpus)
                return evaluate_index(kb, bench, language=language, ranking=ranking)
            finally:
                kb.close()
    kb = KnowledgeBase.open(
        settings.model_copy(update={"index": Path(index or settings.index)}), create=False
    )
    try:
        return evaluate_index(kb, bench, language=language, ranking=ranking)
    finally:
        kb.close()
