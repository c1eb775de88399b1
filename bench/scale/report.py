"""Scale benchmark output: the Markdown table, the target check, the PNG plot, the docs.

Works on the JSON-ready results of harness.run, so a table can be rebuilt from a saved
``scale.json``: ``python -m bench.scale.report bench/results/scale.json [--docs FILE]``.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS_BEGIN = "<!-- bench-scale table: begin -->"
DOCS_END = "<!-- bench-scale table: end -->"

#: targets of issue 11, with the smallest size (in passages) they apply to
PASSAGES_10K = 10_000
PASSAGES_100K = 100_000
GROWTH_LIMIT = 1.2
P99_LIMIT_MS = 20.0
HTTP_OVERHEAD_MS = 2.0
THROUGHPUT_16 = 150.0
RSS_LIMIT = 1.5e9


def _http_baseline(size: dict) -> tuple[float | None, str]:
    """The in-process median the HTTP median is held to: the rounds that alternated with
    the HTTP rounds where the run has them (same minutes), else the in-process step's."""
    paired = _get(size, "http", "one_client", "paired_in_process", "median_ms")
    if paired is not None:
        return paired, " (alternating rounds)"
    return _get(size, "query", "ours", "median_ms"), ""


# -- formatting -----------------------------------------------------------------------
def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "–"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:.0f} B"


def _ratio(ours: float | None, peer: float | None) -> float | None:
    if ours is None or peer is None or peer <= 0:
        return None
    return ours / peer


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _get(data: dict | None, *keys: str):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# -- derived figures ------------------------------------------------------------------
def per_report_s(results: dict, size: dict, system: str) -> float | None:
    """Seconds per report beyond start-up: (ingest − one-report ingest) / (reports − 1)."""
    wall = _get(size, "ingest", system, "wall_s")
    start = _get(results, "startup_s", system)
    if wall is None or start is None or size["reports"] <= 1:
        return None
    return max(wall - start, 0.0) / (size["reports"] - 1)


def growth(results: dict, system: str) -> list[tuple[dict, dict, float, float, float]]:
    """(smaller, larger, size factor, per-report time ratio, ratio scaled to 4×)
    for consecutive measured sizes; the 4× figure assumes a power law between them."""
    sizes = sorted(results["sizes"], key=lambda s: s["reports"])
    out = []
    for small, large in zip(sizes, sizes[1:], strict=False):
        a, b = per_report_s(results, small, system), per_report_s(results, large, system)
        factor = large["reports"] / small["reports"]
        if not a or b is None or factor <= 1:
            continue
        ratio = b / a
        out.append((small, large, factor, ratio, ratio ** (math.log(4) / math.log(factor))))
    return out


def _growth_cell(results: dict, size: dict, system: str) -> str:
    for _small, large, factor, ratio, four in growth(results, system):
        if large is size:
            return f"{ratio:.2f} (×{factor:.1f} reports; {four:.2f} at 4N)"
    return "–"


# -- the table ------------------------------------------------------------------------
def table(results: dict) -> str:
    """One column per size, one row per measurement, as in issue 11."""
    sizes = sorted(results["sizes"], key=lambda s: s["passages"])
    peer = any(_get(s, "ingest", "txtai") for s in sizes)
    head = "| | " + " | ".join(s["label"] for s in sizes) + " | target |"
    rows = [head, "|---" * (len(sizes) + 2) + "|"]

    def row(name: str, cell, target: str = "") -> None:
        cells = [cell(s) for s in sizes]
        if all(set(c) <= set("–/ ") for c in cells):
            return  # measured at none of the sizes (one size: no growth; older runs)
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")

    def pair(fn, fmt) -> Callable[[dict], str]:
        return lambda s: (
            f"{fmt(fn(s, 'ours'))} / {fmt(fn(s, 'txtai'))}" if peer else fmt(fn(s, "ours"))
        )

    row("reports / passages", lambda s: f"{s['reports']:,} / {s['passages']:,}")
    row(
        "index of ours",
        lambda s: "reused (--reuse): ingest not measured" if s.get("reused_index") else "–",
    )
    row(
        "ingest, us (s)",
        lambda s: _num(_get(s, "ingest", "ours", "wall_s")) + _runs_note(_get(s, "ingest", "ours")),
    )
    if peer:
        row(
            "ingest, txtai (s)",
            lambda s: (
                _num(_get(s, "ingest", "txtai", "wall_s")) + _runs_note(_get(s, "ingest", "txtai"))
            ),
        )
        row(
            "ingest ratio, us / txtai",
            lambda s: _times(
                _ratio(_get(s, "ingest", "ours", "wall_s"), _get(s, "ingest", "txtai", "wall_s"))
            ),
            "≤ 1.00 from 10k passages",
        )
    row(
        "time per report beyond start-up, us" + (" / txtai" if peer else "") + " (ms)",
        pair(lambda s, sys_: _ms(per_report_s(results, s, sys_)), lambda v: v),
    )
    row(
        "growth of that time vs the size before, us",
        lambda s: _growth_cell(results, s, "ours"),
        f"≤ {GROWTH_LIMIT} at 4N",
    )
    if peer:
        row("growth of that time, txtai", lambda s: _growth_cell(results, s, "txtai"))
    row(
        "bytes written by ingest, us" + (" / txtai" if peer else ""),
        pair(lambda s, sys_: _get(s, "ingest", sys_, "write_bytes"), _bytes),
        "∝ data",
    )
    row(
        "bytes written per passage, us",
        lambda s: _bytes(_per_passage(s, _get(s, "ingest", "ours", "write_bytes"))),
    )
    row(
        "index on disk, us" + (" / txtai" if peer else ""),
        pair(lambda s, sys_: _get(s, "index_bytes", sys_), _bytes),
    )
    row(
        "query in-process, median, us" + (" / txtai" if peer else "") + " (ms)",
        pair(lambda s, sys_: _get(s, "query", sys_, "median_ms"), lambda v: _num(v, 2)),
        "≤ txtai from 10k passages",
    )
    if peer:
        row(
            "query ratio, us / txtai",
            lambda s: _times(
                _ratio(
                    _get(s, "query", "ours", "median_ms"), _get(s, "query", "txtai", "median_ms")
                )
            ),
        )
    row(
        "CPU per query in-process, median, us" + (" / txtai" if peer else "") + " (ms)",
        pair(lambda s, sys_: _get(s, "query", sys_, "cpu_median_ms"), lambda v: _num(v, 2)),
    )
    row(
        "query in-process, p99, us" + (" / txtai" if peer else "") + " (ms)",
        pair(lambda s, sys_: _get(s, "query", sys_, "p99_ms"), lambda v: _num(v, 2)),
        f"≤ {P99_LIMIT_MS:.0f} ms at 100k passages",
    )
    row(
        "HTTP, one client, median (ms)",
        lambda s: _num(_get(s, "http", "one_client", "median_ms"), 2),
        f"≤ in-process + {HTTP_OVERHEAD_MS:.0f} ms",
    )
    row(
        "in-process, rounds alternating with those, median (ms)",
        lambda s: _num(_get(s, "http", "one_client", "paired_in_process", "median_ms"), 2),
    )
    levels = sorted({int(c) for s in sizes for c in (_get(s, "http", "clients") or {})})
    for clients in levels:
        row(
            f"HTTP, {clients} clients: requests/s (median ms)",
            lambda s, c=str(clients): _throughput_cell(_get(s, "http", "clients", c)),
            f"≥ {THROUGHPUT_16:.0f}/s at 100k passages" if clients == 16 else "",
        )
    for clients in levels:
        row(
            f"server CPU per request at {clients} clients (ms)",
            lambda s, c=str(clients): _num(
                _get(s, "http", "clients", c, "server_cpu_ms_per_request"), 1
            ),
        )
    for clients in levels:
        row(
            f"load generator CPU per request at {clients} clients (ms)",
            lambda s, c=str(clients): _num(
                _get(s, "http", "clients", c, "client_cpu_ms_per_request"), 2
            ),
        )
    row("HTTP errors", lambda s: _http_errors(s), "0")
    row(
        "server RSS after the load",
        lambda s: _bytes(_get(s, "http", "rss_bytes")) + _procs_note(s),
        "≤ 1.5 GB at 100k passages",
    )
    row(
        "server PSS after the load (shared pages counted once)",
        lambda s: _bytes(_get(s, "http", "pss_bytes")),
    )
    row(
        "ingest peak RSS, us" + (" / txtai" if peer else ""),
        pair(lambda s, sys_: _get(s, "ingest", sys_, "peak_rss_bytes"), _bytes),
    )
    row(
        "ingest CPU time, us" + (" / txtai" if peer else "") + " (s)",
        pair(lambda s, sys_: _get(s, "ingest", sys_, "cpu_s"), _num),
    )
    row(
        "machine load (1-min average) at start / end",
        lambda s: " / ".join(f"{v:.1f}" for v in s.get("load_avg", [])) or "–",
        f"< {results['meta'].get('cpus') or 2} for quiet figures",
    )
    return "\n".join(rows)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.1f}"


def _runs_note(run: dict | None) -> str:
    if not run or run.get("runs", 1) <= 1:
        return ""
    return f" (median of {run['runs']})"


def _per_passage(size: dict, value: float | None) -> float | None:
    return None if value is None or not size["passages"] else value / size["passages"]


def _throughput_cell(level: dict | None) -> str:
    if not level:
        return "–"
    return f"{level['per_second']:,.1f} ({_num(level.get('median_ms'), 1)})"


def _http_errors(size: dict) -> str:
    http = size.get("http")
    if not http:
        return "–"
    levels = [
        {"ok": _get(http, "one_client", "n") or 0, "errors": _get(http, "one_client", "errors")},
        *http.get("clients", {}).values(),
    ]
    errors = sum(level["errors"] or 0 for level in levels)
    requests = sum(level["ok"] + (level["errors"] or 0) for level in levels)
    return f"{errors} of {requests:,}"


def _procs_note(size: dict) -> str:
    count = _get(size, "http", "processes")
    return f" ({count} processes)" if count and count > 1 else ""


# -- targets --------------------------------------------------------------------------
def targets(results: dict) -> list[str]:
    """Issue 11's targets, each with the figures that decide it ('not measured' if none)."""
    sizes = sorted(results["sizes"], key=lambda s: s["passages"])
    lines = []

    def verdict(name: str, checks: list[tuple[str, bool]]) -> None:
        if not checks:
            lines.append(f"- {name}: not measured at the sizes of this run")
            return
        met = all(ok for _, ok in checks)
        detail = "; ".join(text for text, _ in checks)
        lines.append(f"- {name}: **{'met' if met else 'not met'}** ({detail})")

    checks = []
    for s in sizes:
        ratio = _ratio(_get(s, "ingest", "ours", "wall_s"), _get(s, "ingest", "txtai", "wall_s"))
        if ratio is not None and s["passages"] >= PASSAGES_10K:
            checks.append((f"{s['label']}: {ratio:.2f}×", ratio <= 1.0))
    verdict("ingest at least as fast as txtai from 10k passages (us / txtai ≤ 1)", checks)

    checks = [
        (f"{small['label']} → {large['label']}: {four:.2f}", four <= GROWTH_LIMIT)
        for small, large, _, _, four in growth(results, "ours")
    ]
    verdict(f"linear growth: time per report at 4N ≤ {GROWTH_LIMIT}× that at N", checks)

    checks = []
    for s in sizes:
        ratio = _ratio(
            _get(s, "query", "ours", "median_ms"), _get(s, "query", "txtai", "median_ms")
        )
        if ratio is not None and s["passages"] >= PASSAGES_10K:
            checks.append((f"{s['label']}: {ratio:.2f}×", ratio <= 1.0))
    verdict("query median ≤ txtai's from 10k passages", checks)

    checks = []
    for s in sizes:
        p99 = _get(s, "query", "ours", "p99_ms")
        if p99 is not None and s["passages"] >= PASSAGES_100K:
            checks.append((f"{s['label']}: {p99:.1f} ms", p99 <= P99_LIMIT_MS))
    verdict(f"query p99 ≤ {P99_LIMIT_MS:.0f} ms at 100k passages", checks)

    checks = []
    for s in sizes:
        http = _get(s, "http", "one_client", "median_ms")
        local, when = _http_baseline(s)
        if http is not None and local is not None:
            checks.append(
                (f"{s['label']}: +{http - local:.1f} ms{when}", http <= local + HTTP_OVERHEAD_MS)
            )
    verdict(f"HTTP one client ≤ in-process median + {HTTP_OVERHEAD_MS:.0f} ms", checks)

    checks = []
    for s in sizes:
        level = _get(s, "http", "clients", "16")
        if level and s["passages"] >= PASSAGES_100K:
            rate = level["per_second"]
            checks.append((f"{s['label']}: {rate:.0f}/s", rate >= THROUGHPUT_16))
    verdict(f"≥ {THROUGHPUT_16:.0f} requests/s with 16 clients at 100k passages", checks)

    checks = []
    for s in sizes:
        if s.get("http"):
            text = _http_errors(s)
            checks.append((f"{s['label']}: {text}", text.startswith("0 ")))
    verdict("zero HTTP errors", checks)

    checks = []
    for s in sizes:
        rss = _get(s, "http", "rss_bytes")
        if rss is not None and s["passages"] >= PASSAGES_100K:
            checks.append((f"{s['label']}: {_bytes(rss)}", rss <= RSS_LIMIT))
    verdict("server RSS ≤ 1.5 GB at 100k passages", checks)
    return lines


# -- the document ---------------------------------------------------------------------
def render(results: dict) -> str:
    """The whole Markdown result."""
    meta = results["meta"]
    peer = meta.get("txtai")
    lines = [
        "# Scale benchmark (`make bench-scale`)",
        "",
        f"Run {meta['started']}, commit {meta['commit']} ({meta['branch']}), "
        f"{meta['cpus']} CPUs, Python {meta['python']}; "
        + (f"peer txtai {peer}." if peer else "peer not run (--skip-peer)."),
        f"Command: `{meta['command']}`",
        "",
        table(results),
        "",
        "## Targets (issue 11)",
        "",
        *targets(results),
        "",
        "## How it was measured",
        "",
        *_method(results),
    ]
    problems = [(s["label"], e) for s in results["sizes"] for e in s.get("errors", [])]
    if problems:
        lines += ["", "## Errors", ""]
        lines += [f"- {label}: {text}" for label, text in problems]
    return "\n".join(lines) + "\n"


def _method(results: dict) -> list[str]:
    meta = results["meta"]
    queries = ", ".join(f"{n} from {name}" for name, n in meta["queries"].items())
    startup = results.get("startup_s", {})
    start_text = ", ".join(f"{name} {value:.1f} s" for name, value in startup.items())
    components = {
        s["label"]: _get(s, "query", "txtai", "worker", "components", "components")
        for s in results["sizes"]
    }
    comp_text = ", ".join(f"{k}: `{v}`" for k, v in components.items() if v)
    env = ", ".join(f"{k}={v}" for k, v in meta.get("env", {}).items()) or "none"
    sources = ", ".join(f"{n} documents of {name}" for name, n in results["sources"].items())
    serve_command = f"python -m api.cli serve {meta['serve_args'] or ''}".strip()
    paired = any(_get(s, "http", "one_client", "paired_in_process") for s in results["sizes"])
    one_client = (
        "rounds alternating with in-process rounds of our query worker, whose median is "
        "the baseline of the HTTP target (same minutes)"
        if paired
        else "the HTTP target's baseline is the in-process step's median"
    )
    lines = [
        f"- Corpus: generated, seed {meta['seed']}, recombining the sentences of {sources}; "
        "Markdown reports with front matter, 2–6 sections of one passage each.",
        "- Ingest: wall time of `python -m api.cli ingest DIR --index X -q` (model load "
        "included) against txtai 9.14 indexing the same passages (our chunker's) with USE "
        "vectors through its external-vectors transform, hybrid BM25 + FAISS, content "
        "stored, batches of 500 passages, one BLAS thread as ours; runs alternated, "
        "median reported. "
        "Bytes written: `write_bytes` of /proc/<pid>/io at exit (storage layer).",
        f"- Time per report beyond start-up subtracts a one-report ingest ({start_text}); "
        "growth compares it between consecutive sizes and scales the ratio to a 4× step "
        "(power law between the two sizes).",
        f"- Queries: {queries}; each system in its own warm worker process, "
        f"{meta['rounds']} rounds alternated, k=10; us `KnowledgeBase.search` (reports with "
        "snippets), txtai `Embeddings.search` (passages with text), one BLAS and one FAISS "
        f"thread for txtai. txtai's FAISS index: {comp_text or 'n/a'}.",
        f"- HTTP: `{serve_command}` on loopback; one client "
        f"sequential ({meta['rounds']} rounds; {one_client}); "
        f"{', '.join(map(str, meta['client_levels']))} "
        f"closed-loop clients for {meta['load_seconds']:.0f} s each after 2 s warm-up "
        f"({_http_client(meta)}, in the harness process on the same cores). RSS: sum of "
        "VmRSS of the "
        "server's process tree after the load.",
        f"- Environment overrides: {env}.",
    ]
    return lines


def _http_client(meta: dict) -> str:
    """The load generator of a run: runs before the small client used httpx."""
    if meta.get("http_client") == "asyncio streams":
        return (
            "a small HTTP/1.1 client on asyncio streams, `bench/scale/load.py`; latency "
            "ends with the answer's last byte"
        )
    return "httpx; latency included parsing the JSON answer"


def plot(results: dict, path: Path) -> str | None:
    """Ingest time and query median against passages; returns why it was skipped, if so."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'); no plot"
    sizes = sorted(results["sizes"], key=lambda s: s["passages"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system, style in (("ours", "o-"), ("txtai", "s--")):
        label = "us" if system == "ours" else "txtai"
        points = [
            (s["passages"], _get(s, "ingest", system, "wall_s"))
            for s in sizes
            if _get(s, "ingest", system, "wall_s") is not None
        ]
        if points:
            left.plot(*zip(*points, strict=True), style, label=label)
        points = [
            (s["passages"], _get(s, "query", system, "median_ms"))
            for s in sizes
            if _get(s, "query", system, "median_ms") is not None
        ]
        if points:
            right.plot(*zip(*points, strict=True), style, label=f"{label}, median in-process")
    points = [
        (s["passages"], _get(s, "http", "one_client", "median_ms"))
        for s in sizes
        if _get(s, "http", "one_client", "median_ms") is not None
    ]
    if points:
        right.plot(*zip(*points, strict=True), "^:", label="us, HTTP one client")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.4g}")
    for ax, title, unit in ((left, "ingest", "seconds"), (right, "query", "ms")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("passages")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.suptitle(f"Scale benchmark, {results['meta']['started']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def update_docs(doc: Path, runs: list[dict]) -> None:
    """Replace what lies between the bench-scale markers of ``doc`` with each run's table."""
    text = doc.read_text(encoding="utf-8")
    if DOCS_BEGIN not in text or DOCS_END not in text:
        raise ValueError(f"{doc} has no bench-scale markers ({DOCS_BEGIN} ... {DOCS_END})")
    parts = []
    for results in runs:
        meta = results["meta"]
        parts.append(
            f"Run {meta['started']}, commit {meta['commit']}, txtai {meta.get('txtai') or '–'}: "
            f"`{meta['command']}`\n\n{table(results)}\n"
        )
    block = f"{DOCS_BEGIN}\n" + "\n".join(parts) + DOCS_END
    pattern = re.compile(re.escape(DOCS_BEGIN) + ".*?" + re.escape(DOCS_END), re.DOTALL)
    doc.write_text(pattern.sub(lambda _: block, text, count=1), encoding="utf-8")


def write_all(results: dict, out: Path, docs: Path | None = None) -> None:
    """Write the Markdown, the JSON and the PNG next to each other (and the docs table)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    note = plot(results, out.with_suffix(".png"))
    text = render(results)
    if note:
        text += f"\n{note}\n"
    else:
        text += f"\n![time against size]({out.with_suffix('.png').name})\n"
    out.write_text(text, encoding="utf-8")
    if docs is not None:
        update_docs(docs, [results])


def main(argv: list[str] | None = None) -> int:
    """Rebuild Markdown and plot from saved JSON; ``--docs`` puts the tables into the docs."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.scale.report", description=__doc__)
    parser.add_argument("results", nargs="+", type=Path, help="scale.json files of runs")
    parser.add_argument(
        "--docs", type=Path, default=None, help="also write the tables into this file"
    )
    args = parser.parse_args(argv)
    runs = []
    for source in args.results:
        try:
            runs.append(json.loads(source.read_text()))
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {source}: {exc}", file=sys.stderr)
            return 2
        write_all(runs[-1], source.with_suffix(".md"))
        print(source.with_suffix(".md"))
    if args.docs is not None:
        try:
            update_docs(args.docs, runs)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
