"""How well ``search.relevance`` tells matching reports from the rest, on every data set.

For each query (hybrid ranking, default settings) it ranks every candidate, applies the
matching rule and compares the matching reports with the judgements: precision (share
of matching reports that are judged relevant), recall (share of the relevant ones that
match) and how many match. Writes a Markdown table (``docs/quality.md``, "Matching
reports", has the figures of one run).

Usage: python bench/matching.py [--shared ../shared] [--out bench/results/matching.md]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import SETS, _open_indexes  # noqa: E402

from search import query as queries  # noqa: E402
from search import retrieval  # noqa: E402
from search.kb import KnowledgeBase  # noqa: E402
from search.ranking import FusionWeights, Ranking, query_kind  # noqa: E402
from search.relevance import matching  # noqa: E402
from search.settings import Settings  # noqa: E402


def measure(kb: KnowledgeBase, bench, language: str | None) -> dict[str, dict]:
    """Per query kind: precision, recall, matching reports and queries without any."""
    settings = kb.settings
    weights = FusionWeights.from_settings(settings)
    rows: dict[str, list[tuple[float, float, int]]] = {}
    for qid, relevant in bench.qrels.items():
        if qid not in bench.queries or (language and bench.languages.get(qid) != language):
            continue
        text = queries.clean_query(bench.queries[qid], settings)
        kind = query_kind(text)
        qvec = kb.embedder.embed_queries([text])[0]
        terms = kb.analyzer.query_terms(text)
        with kb.index.reading() as view:
            ranked, first_top = retrieval.rank(
                view, qvec, terms, settings.candidates, Ranking.HYBRID, weights, kind
            )
        found = matching(ranked, first_top, kind, Ranking.HYBRID, settings)
        hits = sum(1 for r in found if relevant.get(r.doc_id, 0) > 0)
        judged = sum(1 for g in relevant.values() if g > 0)
        rows.setdefault(kind.value, []).append(
            (hits / len(found) if found else 1.0, hits / judged if judged else 1.0, len(found))
        )
    return {
        kind: {
            "queries": len(r),
            "precision": statistics.mean(p for p, _, _ in r),
            "recall": statistics.mean(x for _, x, _ in r),
            "median_matching": statistics.median(n for _, _, n in r),
            "none": sum(1 for _, _, n in r if n == 0),
        }
        for kind, r in rows.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "matching.md")
    args = parser.parse_args(argv)
    s = Settings()
    lines = [
        f"Matching rule: floor {s.match_floor}, topic ratio {s.match_ratio_topic}, "
        f"question ratio {s.match_ratio_question}; candidates {s.candidates}.",
        "",
        "| set | lang | kind | queries | matching (median) | precision | recall | none match |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="kb-matching-") as tmp:
        plan = _open_indexes(Path(tmp), args.shared)
        for name, *_ in SETS:
            for lang in ("de", "en"):
                folder, bench, only = plan[(name, lang)]
                kb = KnowledgeBase.open(Settings(index=folder), create=False)
                for kind, m in measure(kb, bench, only).items():
                    lines.append(
                        f"| {name} | {lang} | {kind} | {m['queries']} | "
                        f"{m['median_matching']:.0f} | {m['precision']:.2f} | "
                        f"{m['recall']:.2f} | {m['none']} |"
                    )
                    print(lines[-1], flush=True)
                kb.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
