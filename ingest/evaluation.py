"""Evaluate search on a BEIR folder: index its corpus (if it has one) and run its queries.

A corpus entry becomes one document whose id is the entry's ``_id`` and whose title is
the entry's title, never its ``_id``: a benchmark's ids can name the answer.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from search.evaluate import Benchmark, evaluate_on, load_beir
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


@contextlib.contextmanager
def benchmark_index(
    bench: Benchmark, settings: Settings, index: Path | None = None
) -> Iterator[KnowledgeBase]:
    """The knowledge base to evaluate on: with a corpus, a temporary index of it;
    without, the existing index ``index`` (default: the settings' index)."""
    if bench.corpus is not None:
        with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
            temp_settings = settings.model_copy(update={"index": Path(tmp) / "index"})
            kb = KnowledgeBase.open(temp_settings)
            try:
                index_corpus(kb, bench.corpus)
                yield kb
            finally:
                kb.close()
        return
    kb = KnowledgeBase.open(
        settings.model_copy(update={"index": Path(index or settings.index)}), create=False
    )
    try:
        yield kb
    finally:
        kb.close()


def evaluate_rankings(
    folder: Path,
    settings: Settings,
    rankings: Sequence[str],
    *,
    split: str = "test",
    index: Path | None = None,
    language: str | None = None,
    per_query: bool = False,
) -> dict[str, dict]:
    """``evaluate_on`` for a BEIR folder; a corpus in it is indexed once for all rankings."""
    bench = load_beir(folder, split)
    with benchmark_index(bench, settings, index) as kb:
        return evaluate_on(kb, bench, rankings, language, per_query)
