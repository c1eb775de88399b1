"""HTTP load for the scale benchmark: one-client latency and throughput at C clients.

A client is one keep-alive connection sending its next request when the last answer
is in (closed loop), cycling through the query list from its own offset. Anything but
a 200 with a JSON body, or a transport error, counts as an error.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import httpx

SEARCH_PATH = "/api/v1/search"


@dataclass
class LoadResult:
    """Outcome of one load level."""

    clients: int
    seconds: float
    ok: int = 0
    errors: int = 0
    sent: int = 0  # every request, warm-up included
    latencies_ms: list[float] = field(default_factory=list)
    first_error: str | None = None

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def median_ms(self) -> float | None:
        """Median latency of the successful requests."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    def record_error(self, what: str) -> None:
        """Count an error and keep the first one's description."""
        self.errors += 1
        if self.first_error is None:
            self.first_error = what


def _check(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        response.json()["results"]
    except (ValueError, KeyError, TypeError):
        return "answer without a results list"
    return None


def one_client(base_url: str, queries: list[str], rounds: int, k: int = 10) -> LoadResult:
    """Sequential requests over one connection after one warm-up pass."""
    result = LoadResult(clients=1, seconds=0.0)
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for query in queries:  # warm-up: connection, caches
            client.get(SEARCH_PATH, params={"q": query, "k": k})
        started = time.perf_counter()
        for _ in range(rounds):
            for query in queries:
                sent = time.perf_counter()
                try:
                    problem = _check(client.get(SEARCH_PATH, params={"q": query, "k": k}))
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                if problem:
                    result.record_error(problem)
                else:
                    result.ok += 1
                    result.latencies_ms.append((time.perf_counter() - sent) * 1000)
        result.seconds = time.perf_counter() - started
    return result


async def _client(
    base_url: str,
    queries: list[str],
    offset: int,
    warm_until: float,
    stop_at: float,
    result: LoadResult,
    k: int,
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        i = offset
        while True:
            sent = time.perf_counter()
            if sent >= stop_at:
                return
            query = queries[i % len(queries)]
            i += 1
            try:
                problem = _check(await client.get(SEARCH_PATH, params={"q": query, "k": k}))
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            result.sent += 1
            if sent < warm_until:
                continue  # warm-up requests are not counted
            if problem:
                result.record_error(problem)
            else:
                result.ok += 1
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)


async def _many(
    base_url: str, queries: list[str], clients: int, seconds: float, warmup: float, k: int
) -> LoadResult:
    result = LoadResult(clients=clients, seconds=seconds)
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    spread = max(1, len(queries) // clients)
    await asyncio.gather(
        *(
            _client(base_url, queries, c * spread, warm_until, stop_at, result, k)
            for c in range(clients)
        )
    )
    # requests sent before stop_at may finish after it; count the real span
    result.seconds = max(seconds, time.perf_counter() - warm_until)
    return result


def many_clients(
    base_url: str,
    queries: list[str],
    clients: int,
    seconds: float,
    warmup: float = 2.0,
    k: int = 10,
) -> LoadResult:
    """Closed-loop load from ``clients`` concurrent clients for ``seconds`` after a warm-up."""
    return asyncio.run(_many(base_url, queries, clients, seconds, warmup, k))
