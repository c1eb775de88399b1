"""Retrieval quality benchmark: every data set, both query languages, every ranking, one run.

Data sets: xquad-dev (questions), xquad-topics-dev and gnad-dev (topics) from
``../shared/bench`` and ``corpus/eval`` over the bundled corpus. Each corpus is indexed
once (xquad-dev and xquad-topics-dev share theirs) with the default settings; then
every configuration in CONFIGS ranks every query with each of its rankings. The
configuration "before" is the ranking before issue 9 (every query ranked like a
question), so before and after come from the same run and the same indexes.

Query time is measured on the bundled corpus, the default against "before", with
the corpus/eval queries interleaved (one of each, alternating which goes first) so
that both see the same machine load.

Usage: python bench/quality.py [--out bench/results/quality.md] [--shared ../shared]
       [--rounds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.evaluation import index_corpus  # noqa: E402
from search.evaluate import evaluate_on, load_beir  # noqa: E402
from search.kb import KnowledgeBase  # noqa: E402
from search.settings import Settings  # noqa: E402

#: (label, settings overrides, rankings); the first is the default configuration
CONFIGS: list[tuple[str, dict, tuple[str, ...]]] = [
    ("default", {}, ("hybrid", "dense", "lexical")),
    ("before", {"query_kinds": False}, ("hybrid", "dense")),
]

#: (name, folder below shared/bench or None for corpus/eval, split, main metric, target de, en)
SETS: list[tuple[str, str | None, str, str, float, float]] = [
    ("gnad-dev", "gnad-dev", "dev", "ndcg@10", 0.80, 0.80),
    ("xquad-topics-dev", "xquad-topics-dev", "dev", "ndcg@10", 0.93, 0.93),
    ("xquad-dev", "xquad-dev", "dev", "mrr@10", 0.95, 0.90),
    ("corpus/eval", None, "test", "ndcg@10", 0.92, 0.92),
]
LANGUAGES = ("de", "en")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open_indexes(tmp: Path, shared: Path) -> dict:
    """One index folder per distinct corpus: {(set, language): (folder, benchmark, lang)}."""
    from ingest.pipeline import ingest_files, iter_files

    base = Settings(index=tmp / "unused")
    built: dict[str, Path] = {}
    plan = {}
    for name, sub, split, _, _, _ in SETS:
        for lang in LANGUAGES:
            if sub is None:  # corpus/eval: queries of both languages, bundled corpus
                folder = tmp / "bundled"
                if "bundled" not in built:
                    kb = KnowledgeBase.open(base.model_copy(update={"index": folder}))
                    report = ingest_files(kb, list(iter_files([ROOT / "corpus"])))
                    kb.close()
                    if not report.ok:
                        raise SystemExit(f"ingest of corpus/ failed: {report.summary()}")
                    built["bundled"] = folder
                plan[(name, lang)] = (folder, load_beir(ROOT / "corpus" / "eval", split), lang)
                continue
            bench_folder = shared / "bench" / sub / lang
            bench = load_beir(bench_folder, split)
            key = _digest(bench_folder / "corpus.jsonl")
            if key not in built:
                folder = tmp / f"corpus-{len(built)}"
                started = time.perf_counter()
                kb = KnowledgeBase.open(base.model_copy(update={"index": folder}))
                index_corpus(kb, bench.corpus)
                kb.close()
                took = time.perf_counter() - started
                print(f"indexed {sub}/{lang}/corpus.jsonl in {took:.0f} s", flush=True)
                built[key] = folder
            plan[(name, lang)] = (built[key], bench, None)
    return plan


def _latency(folder: Path, rounds: int) -> dict:
    """Medians of the default and 'before' hybrid ranking on corpus/eval, interleaved."""
    bench = load_beir(ROOT / "corpus" / "eval", "test")
    queries = [bench.queries[q] for q in bench.qrels if q in bench.queries]
    kbs = {
        label: KnowledgeBase.open(Settings(index=folder, **overrides), create=False)
        for label, overrides, _ in CONFIGS
    }
    for kb in kbs.values():
        kb.warm_up()
        for q in queries:  # first touch of every query path, not timed
            kb.search(q, k=10)
    times: dict[str, list[float]] = {label: [] for label in kbs}
    cpu: dict[str, list[float]] = {label: [] for label in kbs}
    order = list(kbs)
    for r in range(rounds):
        for q in queries:
            for label in order if r % 2 == 0 else reversed(order):
                started = time.thread_time()
                times[label].append(kbs[label].search(q, k=10).took_ms)
                cpu[label].append((time.thread_time() - started) * 1000)
    for kb in kbs.values():
        kb.close()
    return {
        label: {
            "median_ms": statistics.median(t),
            "median_cpu_ms": statistics.median(cpu[label]),
            "n": len(t),
        }
        for label, t in times.items()
    }


def _cell(value: float) -> str:
    return f"{value:.3f}"


def _main_table(results: dict) -> list[str]:
    """Sets x languages x rankings, default and before, with the targets and the rules."""
    cols = [(label, r) for label, _, rankings in CONFIGS for r in rankings]
    head = "| set | lang | metric | " + " | ".join(f"{r} ({label})" for label, r in cols)
    lines = [
        head + " | target | hybrid ≥ dense − 0.005 | hybrid ≥ lexical |",
        "|---" * (len(cols) + 6) + "|",
    ]
    for name, _, _, metric, target_de, target_en in SETS:
        for lang in LANGUAGES:
            got = {c: results[(name, lang, *c)][metric] for c in cols}
            hybrid = got[("default", "hybrid")]
            target = target_de if lang == "de" else target_en
            mark = "met" if hybrid >= target else "missed"
            dense_ok = "yes" if hybrid >= got[("default", "dense")] - 0.005 else "NO"
            lexical_ok = "yes" if hybrid >= got[("default", "lexical")] else "NO"
            lines.append(
                f"| {name} | {lang} | {metric} | "
                + " | ".join(_cell(got[c]) for c in cols)
                + f" | ≥ {target:.2f} ({mark}) | {dense_ok} | {lexical_ok} |"
            )
    return lines


def _details(results: dict) -> list[str]:
    lines = [
        "| set | lang | configuration | ranking | queries | R@1 | R@5 | R@10 | MRR@10 "
        "| nDCG@10 | median ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, lang, label, ranking), r in results.items():
        metrics = " | ".join(
            _cell(r[k]) for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
        )
        lines.append(
            f"| {name} | {lang} | {label} | {ranking} | {r['queries']} | {metrics} "
            f"| {r['median_ms']:.2f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "quality.md")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds over corpus/eval")
    args = parser.parse_args()

    results: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kb-quality-") as tmp:
        plan = _open_indexes(Path(tmp), args.shared)
        for (name, lang), (folder, bench, only_lang) in plan.items():
            for label, overrides, rankings in CONFIGS:
                kb = KnowledgeBase.open(Settings(index=folder, **overrides), create=False)
                try:
                    kb.warm_up()  # as a server: the terms in memory answer the lexical part
                    out = evaluate_on(kb, bench, rankings, only_lang)
                finally:
                    kb.close()
                for ranking, res in out.items():
                    results[(name, lang, label, ranking)] = res["metrics"]
                    m = res["metrics"]
                    print(
                        f"{name:17} {lang} {label:8} {ranking:8} nDCG@10 {m['ndcg@10']:.3f} "
                        f"MRR@10 {m['mrr@10']:.3f} R@1 {m['recall@1']:.3f}",
                        flush=True,
                    )
        latency = _latency(Path(tmp) / "bundled", args.rounds)
    took = time.perf_counter() - started

    new, old = latency["default"]["median_ms"], latency["before"]["median_ms"]
    new_cpu, old_cpu = latency["default"]["median_cpu_ms"], latency["before"]["median_cpu_ms"]
    lines = [
        "# Retrieval quality (`make bench-quality`)",
        "",
        f"One run, {took / 60:.0f} min. `default` is the current default ranking; `before` "
        "ranks every query like a question (`KB_QUERY_KINDS=false`, the ranking before "
        "issue 9). Same indexes for both.",
        "",
        *_main_table(results),
        "",
        "## Query time on the bundled corpus",
        "",
        f"corpus/eval queries ({latency['default']['n']} searches per configuration, "
        f"{args.rounds} rounds, interleaved), hybrid ranking, in-process: wall time "
        "(`took_ms`) and the search thread's CPU time (less sensitive to other load on "
        f"the machine; load average at the end {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores):",
        "",
        "| configuration | median wall ms | median CPU ms |",
        "|---|---|---|",
        f"| default | {new:.2f} | {new_cpu:.2f} |",
        f"| before | {old:.2f} | {old_cpu:.2f} |",
        f"| difference | {new - old:+.2f} ms ({new / old:.2f}x) "
        f"| {new_cpu - old_cpu:+.2f} ms ({new_cpu / old_cpu:.2f}x) |",
        "",
        "## All metrics",
        "",
        *_details(results),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:20]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
