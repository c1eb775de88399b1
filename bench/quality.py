"""Retrieval quality benchmark: `kb eval` on xquad-dev (de, en) and corpus/eval.

Runs every configuration in CONFIGS on every data set and writes a Markdown table.
Usage: python bench/quality.py [--out bench/results/quality.md] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.evaluate import evaluate  # noqa: E402
from search.settings import Settings  # noqa: E402

#: dense ranking by the passage vectors alone (the retriever before sentence/document fields)
_PASSAGES_ONLY = {"sentence_weight": 0.0, "document_weight": 0.0, "metadata_weight": 0.0}

#: (label, settings overrides); the first is the default configuration. See
#: docs/quality.md for what each variant shows.
CONFIGS: list[tuple[str, dict]] = [
    ("default (hybrid)", {}),
    ("dense only", {"ranking": "dense"}),
    ("lexical only (BM25)", {"ranking": "lexical"}),
    ("dense, passages only", {"ranking": "dense", **_PASSAGES_ONLY}),
    ("hybrid, passages only", _PASSAGES_ONLY),
    ("hybrid, no sentence vectors", {"sentence_vectors": False}),
    ("hybrid, no document fields", {"document_weight": 0.0, "metadata_weight": 0.0}),
    ("hybrid, lexical weight 0.2", {"lexical_weight": 0.2}),
    ("hybrid, lexical weight 0.6", {"lexical_weight": 0.6}),
]


def _env(overrides: dict) -> dict[str, str]:
    """The environment of a subprocess with ``overrides`` as KB_* variables."""
    env = dict(os.environ)
    for key, value in overrides.items():
        env[f"KB_{key.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def _datasets(shared: Path) -> list[tuple[str, Path, str, str | None]]:
    xquad = shared / "bench" / "xquad-dev"
    sets = []
    for lang in ("de", "en"):
        if (xquad / lang).exists():
            sets.append((f"xquad-dev/{lang}", xquad / lang, "dev", None))
    for lang in ("de", "en"):
        sets.append((f"corpus/eval ({lang})", ROOT / "corpus" / "eval", "test", lang))
    return sets


def _summary(rows: list) -> list[str]:
    """One line per configuration: the figures the quality targets are about."""
    by = {(label, name): r for label, name, r, _ in rows}
    lines = [
        "| configuration | xquad de R@1 | xquad de MRR@10 | xquad en R@1 | xquad en MRR@10 "
        "| corpus de nDCG@10 | corpus en nDCG@10 | corpus median ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, _ in CONFIGS:
        cells = []
        for name, keys in (
            ("xquad-dev/de", ("recall@1", "mrr@10")),
            ("xquad-dev/en", ("recall@1", "mrr@10")),
            ("corpus/eval (de)", ("ndcg@10",)),
            ("corpus/eval (en)", ("ndcg@10",)),
        ):
            r = by.get((label, name))
            cells += [f"{r[k]:.3f}" if r else "–" for k in keys]
        times = [by[(label, f"corpus/eval ({x})")]["median_ms"] for x in ("de", "en")]
        cells.append(f"{sum(times) / 2:.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _details(rows: list) -> list[str]:
    """One line per configuration and data set with every metric."""
    lines = [
        "| configuration | data set | queries | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | median ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, name, r, _ in rows:
        metrics = " | ".join(
            f"{r[k]:.3f}" for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
        )
        lines.append(f"| {label} | {name} | {r['queries']} | {metrics} | {r['median_ms']:.2f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "quality.md")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        for label, overrides in CONFIGS:
            base = Settings(index=Path(tmp) / label.replace(" ", "_"), **overrides)
            # corpus/eval runs against an index of the bundled corpus built with this config
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "api.cli",
                    "ingest",
                    str(ROOT / "corpus"),
                    "--index",
                    str(base.index),
                    "--embedder",
                    base.embedder,
                    "--quiet",
                ],
                check=True,
                cwd=ROOT,
                capture_output=True,
                env=_env(overrides),
            )
            for name, folder, split, lang in _datasets(args.shared):
                started = time.perf_counter()
                result = evaluate(
                    folder, base, split=split, index=base.index, language=lang, ranking=base.ranking
                )
                took = time.perf_counter() - started
                rows.append((label, name, result, took))
                print(
                    f"{label:30} {name:22} MRR@10 {result['mrr@10']:.3f} "
                    f"R@1 {result['recall@1']:.3f} nDCG@10 {result['ndcg@10']:.3f} "
                    f"median {result['median_ms']:.1f} ms",
                    flush=True,
                )

    lines = _summary(rows) + ["", "All metrics:", ""] + _details(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
