"""Latency benchmark on the bundled corpus: ingest time and query latency.

Measures, in one run (medians; ratios against the dense-only ranking as baseline):
- ingest of corpus/ into a fresh index, and a re-run with nothing changed (`kb ingest`);
- query latency in-process (KnowledgeBase.search) for each ranking;
- query latency over HTTP against `kb serve` on a loopback port;
- `kb search --json` as a whole command (process start and model load included).
Usage: python bench/latency.py [--rounds 5] [--out bench/results/latency.md]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.kb import KnowledgeBase  # noqa: E402
from search.settings import Settings  # noqa: E402

KB = [sys.executable, "-m", "api.cli"]


def _queries() -> list[str]:
    with (ROOT / "corpus" / "eval" / "queries.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def _timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, capture_output=True)
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="repetitions per query")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latency.md")
    args = parser.parse_args()
    queries = _queries()
    rows: list[tuple[str, float, str]] = []

    with tempfile.TemporaryDirectory(prefix="kb-latency-") as tmp:
        env = {**os.environ, "KB_INDEX": str(Path(tmp) / "index")}
        ingest = [*KB, "ingest", str(ROOT / "corpus"), "--quiet"]
        fresh = []
        for i in range(3):
            env_i = {**env, "KB_INDEX": str(Path(tmp) / f"fresh{i}")}
            fresh.append(_timed(ingest, env_i))
        rows.append(("ingest corpus/, fresh index (s)", statistics.median(fresh), "median of 3"))
        _timed(ingest, env)
        rerun = [_timed(ingest, env) for _ in range(3)]
        rows.append(
            ("ingest corpus/, nothing changed (s)", statistics.median(rerun), "median of 3")
        )

        settings = Settings(index=Path(env["KB_INDEX"]))
        kb = KnowledgeBase.open(settings, create=False)
        medians = {}
        for ranking in ("dense", "lexical", "hybrid"):
            times = []
            for _ in range(args.rounds):
                for q in queries:
                    times.append(kb.search(q, k=10, ranking=ranking).took_ms)
            medians[ranking] = statistics.median(times)
        kb.close()
        for ranking, value in medians.items():
            ratio = value / medians["dense"]
            rows.append(
                (
                    f"query in-process, {ranking} (ms)",
                    value,
                    f"{ratio:.2f}x dense; {len(queries)} queries x {args.rounds}",
                )
            )

        port = _free_port()
        server = subprocess.Popen(
            [*KB, "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            import httpx

            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            times = []
            with httpx.Client(base_url=base, timeout=30) as client:
                for _ in range(args.rounds):
                    for q in queries:
                        started = time.perf_counter()
                        client.get("/api/v1/search", params={"q": q, "k": 10}).raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
            rows.append(
                (
                    "query over HTTP, hybrid (ms)",
                    statistics.median(times),
                    f"{statistics.median(times) / medians['hybrid']:.2f}x in-process",
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

        cli = [_timed([*KB, "search", q, "--json"], env) * 1000 for q in queries[:6]]
        rows.append(
            (
                "`kb search --json` whole command (ms)",
                statistics.median(cli),
                "process start + model load + query; 6 queries",
            )
        )

    lines = ["| measurement | median | note |", "|---|---|---|"]
    lines += [f"| {name} | {value:.2f} | {note} |" for name, value, note in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
