"""Retrieval quality benchmark: `kb eval` on xquad-dev (de, en) and corpus/eval.

Runs every configuration in CONFIGS on every data set and writes a Markdown table.
Usage: python bench/quality.py [--out bench/results/quality.md] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.evaluate import evaluate  # noqa: E402
from search.settings import Settings  # noqa: E402

#: (label, settings overrides); the first is the default configuration
CONFIGS: list[tuple[str, dict]] = [
    ("default (hybrid)", {}),
    ("dense only", {"ranking": "dense"}),
    ("lexical only", {"ranking": "lexical"}),
]


def _datasets(shared: Path) -> list[tuple[str, Path, str, str | None]]:
    xquad = shared / "bench" / "xquad-dev"
    sets = []
    for lang in ("de", "en"):
        if (xquad / lang).exists():
            sets.append((f"xquad-dev/{lang}", xquad / lang, "dev", None))
    for lang in ("de", "en"):
        sets.append((f"corpus/eval ({lang})", ROOT / "corpus" / "eval", "test", lang))
    return sets


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
                [sys.executable, "-m", "api.cli", "ingest", str(ROOT / "corpus"), "--index",
                 str(base.index), "--embedder", base.embedder, "--quiet"],
                check=True, cwd=ROOT, capture_output=True,
            )
            for name, folder, split, lang in _datasets(args.shared):
                started = time.perf_counter()
                result = evaluate(folder, base, split=split, index=base.index, language=lang,
                                  ranking=base.ranking)
                took = time.perf_counter() - started
                rows.append((label, name, result, took))
                print(f"{label:28} {name:22} MRR@10 {result['mrr@10']:.3f} "
                      f"R@1 {result['recall@1']:.3f} nDCG@10 {result['ndcg@10']:.3f} "
                      f"median {result['median_ms']:.1f} ms", flush=True)

    lines = [
        "| configuration | data set | queries | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | median ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, name, r, _ in rows:
        lines.append(
            f"| {label} | {name} | {r['queries']} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | "
            f"{r['recall@10']:.3f} | {r['mrr@10']:.3f} | {r['ndcg@10']:.3f} | {r['median_ms']:.2f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
