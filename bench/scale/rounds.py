"""The query worker loop shared by our worker and txtai's (standard library only).

A worker warms up, says ``@@{"ready": ...}``, then answers ``{"cmd": "round"}`` with the
milliseconds of one pass over the query list, until ``{"cmd": "quit"}`` or end of input.
The harness alternates rounds between the systems, so both see the same machine state.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable


def reply(message: dict) -> None:
    """One protocol line on stdout (library output without the prefix is ignored)."""
    sys.stdout.write("@@" + json.dumps(message) + "\n")
    sys.stdout.flush()


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def serve(search: Callable[[str], object], queries: list[str], info: dict) -> None:
    """Warm up with every query once, then time rounds on request."""
    try:
        for query in queries:
            search(query)
    except Exception as exc:  # reported to the harness as one line
        reply({"error": f"warm-up query failed: {type(exc).__name__}: {exc}"})
        return
    reply({"ready": True, "rss_bytes": rss_bytes(), **info})
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("cmd") != "round":
            break
        times, cpu = [], []
        try:
            for query in queries:
                started, cpu_started = time.perf_counter(), time.process_time()
                search(query)
                times.append((time.perf_counter() - started) * 1000)
                # CPU of all the process's threads: spinning BLAS threads show here
                cpu.append((time.process_time() - cpu_started) * 1000)
        except Exception as exc:
            reply({"error": f"query failed: {type(exc).__name__}: {exc}"})
            return
        reply({"ms": times, "cpu_ms": cpu})


def load_queries(path: str) -> list[str]:
    """The query list the harness wrote (a JSON array of strings)."""
    with open(path, encoding="utf-8") as fh:
        return list(json.load(fh))
