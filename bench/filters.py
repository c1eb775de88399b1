"""Filter benchmark: what a filter costs a search, on a generated archive of reports.

Builds (or reuses, ``--index``) an index of the scale benchmark's generated reports
(bench/scale/corpus.py: dates 2015-2025, two topics, one event per report), then times
``KnowledgeBase.search(q, k=10, filters=...)`` for the fixed topic queries (corpus/eval
and gnad-dev, German and English) without a filter and with filters that admit many,
some and few reports. Rounds alternate the cases, so each sees the same machine.
Reports medians, p90, the ratio to the unfiltered median of the same run, and how many
reports each filter admits.

Usage (repository root): python bench/filters.py [--reports 3000] [--index DIR]
    [--rounds 3] [--out bench/results/filters.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import corpus as gen  # noqa: E402
from ingest.pipeline import ingest_files, iter_files  # noqa: E402
from search import retrieval  # noqa: E402
from search.filters import Filters  # noqa: E402
from search.kb import KnowledgeBase  # noqa: E402
from search.settings import Settings  # noqa: E402

GNAD = ROOT.parent / "shared" / "bench" / "gnad-dev"
SEED = 11


def _queries() -> list[str]:
    files = [ROOT / "corpus" / "eval" / "queries.jsonl"]
    files += [GNAD / lang / "queries.jsonl" for lang in ("de", "en")]
    texts: list[str] = []
    for path in files:
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return texts


def _build(reports: int, folder: Path) -> Path:
    """A fresh index of ``reports`` generated reports under ``folder``."""
    gnad = GNAD / "de" / "corpus.jsonl"
    sources = gen.load_sources(ROOT / "corpus", gnad if gnad.exists() else None)
    info = gen.build_corpus(gen.parse_size(str(reports)), folder / "corpus", sources, SEED)
    index = folder / "index"
    started = time.perf_counter()
    kb = KnowledgeBase.open(Settings(index=index))
    try:
        result = ingest_files(kb, iter_files([info.folder]))
    finally:
        kb.close()
    print(
        f"ingested {info.reports:,} reports ({info.passages:,} passages) in "
        f"{time.perf_counter() - started:.0f} s; failed: {len(result.failed)}",
        flush=True,
    )
    return index


def _cases(kb: KnowledgeBase) -> dict[str, Filters | None]:
    """No filter, and filters from broad to narrow, chosen from the index's own values."""
    topics = [t.value for t in kb.values("topics")]  # most reports first
    events = [e.value for e in kb.values("event")]
    return {
        "no filter": None,
        "years 2015-2020 (broad)": Filters(date_from="2015", date_to="2020"),
        "one year, 2021": Filters(date_from="2021", date_to="2021"),
        f"topic {topics[0]!r} (most common)": Filters(topics=(topics[0],)),
        "one month, 2021-03 (narrow)": Filters(date_from="2021-03", date_to="2021-03"),
        "one event (rare)": Filters(event=events[len(events) // 2]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=3000, help="size of a new archive")
    parser.add_argument("--index", type=Path, help="use this index instead of building one")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all queries")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "filters.md")
    args = parser.parse_args()
    queries = _queries()
    with tempfile.TemporaryDirectory(prefix="kb-filters-") as tmp:
        index = args.index or _build(args.reports, Path(tmp))
        kb = KnowledgeBase.open(Settings(index=index), create=False)
        try:
            kb.warm_up()
            stats = kb.stats()
            cases = _cases(kb)
            # how many reports a filter lets through, whatever the query
            with kb.index.reading() as view:
                admitted = {
                    name: len(retrieval.scope(view, f).docs) if f else stats["documents"]
                    for name, f in cases.items()
                }
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.rounds):
                for q in queries:
                    for name, filters in cases.items():
                        started = time.perf_counter()
                        kb.search(q, k=10, filters=filters)
                        times[name].append((time.perf_counter() - started) * 1000)
        finally:
            kb.close()
    base = statistics.median(times["no filter"])
    lines = [
        f"Index: {stats['documents']:,} reports, {stats['chunks']:,} passages; "
        f"{len(queries)} queries × {args.rounds} rounds, k=10.",
        "",
        "| filter | reports admitted | median ms | p90 ms | ratio to no filter |",
        "|---|---|---|---|---|",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        lines.append(
            f"| {name} | {admitted[name]:,} | {median:.1f} | {p90:.1f} | {median / base:.2f}× |"
        )
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
