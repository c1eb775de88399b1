"""Retrieval evaluation on BEIR-layout folders (corpus.jsonl, queries.jsonl, qrels/).

Hits are documents, as in search. Metrics: recall@1/5/10, MRR@10 and graded nDCG@10
(linear gain, as trec_eval), plus the median query time.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import KBError
from .kb import KnowledgeBase
from .settings import Settings

METRIC_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "queries", "median_ms")


@dataclass
class Benchmark:
    """A BEIR folder read into memory."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus: list[dict] | None
    languages: dict[str, str]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_beir(folder: Path, split: str = "test") -> Benchmark:
    """Read queries, graded qrels of ``split`` and, if present, the corpus."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    queries_path = folder / "queries.jsonl"
    for needed in (queries_path, qrels_path):
        if not needed.exists():
            raise KBError(f"not a BEIR folder: {needed} is missing")
    queries, languages = {}, {}
    for row in _read_jsonl(queries_path):
        queries[str(row["_id"])] = row["text"]
        lang = row.get("language") or (row.get("metadata") or {}).get("language")
        if lang:
            languages[str(row["_id"])] = lang
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        for row in reader:
            if not row or row[0] == "query-id":
                continue
            qid, doc, score = row[0], row[1], int(float(row[2]))
            qrels.setdefault(qid, {})[doc] = score
    corpus_path = folder / "corpus.jsonl"
    corpus = _read_jsonl(corpus_path) if corpus_path.exists() else None
    return Benchmark(queries, qrels, corpus, languages)


def score_ranking(ranked: list[str], relevant: dict[str, int]) -> dict[str, float]:
    """Per-query metrics of a ranked list of document ids against graded judgements."""
    rel = {d for d, g in relevant.items() if g > 0}
    out = {}
    for cut in (1, 5, 10):
        out[f"recall@{cut}"] = len(rel & set(ranked[:cut])) / len(rel) if rel else 0.0
    rr = 0.0
    for i, doc in enumerate(ranked[:10]):
        if doc in rel:
            rr = 1.0 / (i + 1)
            break
    out["mrr@10"] = rr
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    out["ndcg@10"] = dcg / idcg if idcg else 0.0
    return out


def run_queries(
    search: Callable[[str], list[str]], bench: Benchmark, language: str | None = None
) -> dict:
    """Mean metrics over the judged queries (optionally of one language)."""
    totals = {k: 0.0 for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")}
    times = []
    n = 0
    for qid, relevant in bench.qrels.items():
        if qid not in bench.queries:
            continue
        if language and bench.languages.get(qid) != language:
            continue
        started = time.perf_counter()
        ranked = search(bench.queries[qid])
        times.append((time.perf_counter() - started) * 1000)
        for key, value in score_ranking(ranked, relevant).items():
            totals[key] += value
        n += 1
    if n == 0:
        raise KBError("no judged queries to evaluate")
    result = {k: round(v / n, 4) for k, v in totals.items()}
    result["queries"] = n
    result["median_ms"] = round(statistics.median(times), 2)
    return result


def index_corpus(kb: KnowledgeBase, corpus: list[dict]) -> None:
    """Write a BEIR corpus into ``kb``: one document per entry, ``_id`` as its id."""
    from ingest.chunk import chunk_document
    from search.models import NewDocument

    settings = kb.settings
    for row in corpus:
        text = row.get("text") or ""
        # never text from the id: a benchmark's id can name the answer
        title = row.get("title") or ""
        chunks = chunk_document(
            text, None, max_chars=settings.chunk_max_chars, min_chars=settings.chunk_min_chars
        )
        if not chunks:
            continue
        doc = NewDocument(
            source=f"beir:{row['_id']}", sha256="", text=text, chunks=chunks, title=title
        )
        kb.add_document(str(row["_id"]), doc)


def evaluate(
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
    k = 10

    def run(kb: KnowledgeBase) -> dict:
        def search(query: str) -> list[str]:
            return [h.id for h in kb.search(query, k=k, ranking=ranking).results]

        return run_queries(search, bench, language)

    if bench.corpus is not None:
        with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
            temp_settings = settings.model_copy(update={"index": Path(tmp) / "index"})
            kb = KnowledgeBase.open(temp_settings)
            try:
                index_corpus(kb, bench.corpus)
                return run(kb)
            finally:
                kb.close()
    kb = KnowledgeBase.open(
        settings.model_copy(update={"index": Path(index or settings.index)}), create=False
    )
    try:
        return run(kb)
    finally:
        kb.close()
