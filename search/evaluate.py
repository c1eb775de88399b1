"""Retrieval evaluation on BEIR-layout folders (corpus.jsonl, queries.jsonl, qrels/).

Hits are documents, as in search. Metrics: recall@1/5/10, MRR@10 and graded nDCG@10
(linear gain, as trec_eval), plus the median query time. Per query, the rank of the
first relevant document and nDCG@10 can be listed for several rankings side by side
(``evaluate_on``), so that losses show query by query. Building an index from a
benchmark's corpus is ingestion's job (``ingest.evaluation``).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import KBError
from .kb import KnowledgeBase

METRIC_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "queries", "median_ms")
#: results per page: the metrics look at the first 10 documents
PAGE = 10


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


def first_relevant(ranked: Sequence[str], relevant: dict[str, int]) -> int | None:
    """1-based rank of the first document with a grade above 0, or None."""
    for i, doc in enumerate(ranked):
        if relevant.get(doc, 0) > 0:
            return i + 1
    return None


def run_queries(
    search: Callable[[str], list[str]],
    bench: Benchmark,
    language: str | None = None,
    details: list[dict] | None = None,
    deep_search: Callable[[str], list[str]] | None = None,
) -> dict:
    """Mean metrics over the judged queries (optionally of one language).

    With a ``details`` list, one row per query is appended to it: id, text, nDCG@10,
    MRR@10 and the rank of the first relevant document. If none is on the first page,
    ``deep_search`` (a longer result list, not timed) looks further.
    """
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
        scores = score_ranking(ranked, relevant)
        for key, value in scores.items():
            totals[key] += value
        n += 1
        if details is not None:
            first = first_relevant(ranked[:PAGE], relevant)
            if first is None and deep_search is not None:
                first = first_relevant(deep_search(bench.queries[qid]), relevant)
            details.append(
                {
                    "query": qid,
                    "text": bench.queries[qid],
                    "first_relevant": first,
                    "ndcg@10": round(scores["ndcg@10"], 4),
                    "mrr@10": round(scores["mrr@10"], 4),
                }
            )
    if n == 0:
        raise KBError("no judged queries to evaluate")
    result = {k: round(v / n, 4) for k, v in totals.items()}
    result["queries"] = n
    result["median_ms"] = round(statistics.median(times), 2)
    return result


def evaluate_on(
    kb: KnowledgeBase,
    bench: Benchmark,
    rankings: Sequence[str],
    language: str | None = None,
    per_query: bool = False,
) -> dict[str, dict]:
    """Metrics (and per-query rows if asked) of each ranking on an open knowledge base."""
    out = {}
    for ranking in rankings:

        def search(query: str, ranking=ranking, k: int = PAGE) -> list[str]:
            return [
                h.id for h in kb.search(query, k=k, ranking=ranking, every_candidate=True).results
            ]

        details: list[dict] | None = [] if per_query else None
        deep = (lambda q, s=search: s(q, k=kb.settings.max_k)) if per_query else None
        metrics = run_queries(search, bench, language, details, deep)
        out[ranking] = {"metrics": metrics, "per_query": details}
    return out


def compare_queries(results: dict[str, dict]) -> list[dict]:
    """One row per query with every ranking's first relevant rank and nDCG@10, and the
    nDCG@10 differences of the first ranking to each other one; losses first."""
    names = list(results)
    rows = []
    by_ranking = {r: {q["query"]: q for q in results[r]["per_query"] or []} for r in names}
    for row in results[names[0]]["per_query"] or []:
        qid = row["query"]
        entry = {"query": qid, "text": row["text"]}
        for r in names:
            q = by_ranking[r][qid]
            entry[r] = {"first_relevant": q["first_relevant"], "ndcg@10": q["ndcg@10"]}
        entry["delta"] = {
            f"{names[0]}-{r}": round(entry[names[0]]["ndcg@10"] - entry[r]["ndcg@10"], 4)
            for r in names[1:]
        }
        rows.append(entry)
    rows.sort(key=lambda e: (min(e["delta"].values(), default=0.0), e["query"]))
    return rows
