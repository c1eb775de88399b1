"""HTTP load for the scale benchmark: one-client latency and throughput at C clients.

A client is one keep-alive connection sending its next request when the last answer
is in (closed loop), cycling through the query list from its own offset. Anything but
a 200 with a JSON body holding a ``results`` list, or a transport error, counts as an
error.

The clients speak HTTP/1.1 over asyncio streams themselves (``HttpConnection``): the
load generator shares the machine's two cores with the server, and a general client
(httpx) spent 1.8 ms of CPU per request, a sixth of what the server spends at 100k
passages, so it measured itself as much as the server. Its CPU per request is
reported beside the server's (``client_cpu_ms_per_request``).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

SEARCH_PATH = "/api/v1/search"

#: an answer larger than this is an error, not something to buffer
MAX_BODY = 64 * 1024 * 1024


class ProtocolError(Exception):
    """The server's bytes are no HTTP/1.1 answer this client understands."""


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
    client_cpu_s: float = 0.0  # CPU of the load generator's process over the level

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def median_ms(self) -> float | None:
        """Median latency of the successful requests."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def client_cpu_ms_per_request(self) -> float:
        """The load generator's CPU per request sent (warm-up included)."""
        return 1000 * self.client_cpu_s / self.sent if self.sent else 0.0

    def record_error(self, what: str) -> None:
        """Count an error and keep the first one's description."""
        self.errors += 1
        if self.first_error is None:
            self.first_error = what


class HttpConnection:
    """One kept-alive HTTP/1.1 connection: GET a path, read the status and the body.

    Understands what a server may send to a GET: a ``Content-Length`` body, a chunked
    one, or one that ends with the connection (which is then opened anew for the next
    request).
    """

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL is needed, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.authority = parts.netloc
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """The status and the body of ``GET path``."""
        async with asyncio.timeout(self.timeout):
            return await self._get(path)

    async def _get(self, path: str) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.authority}\r\n\r\n".encode())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            await self.close()
            raise ProtocolError("the connection closed before an answer") from exc
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
            await self.close()
            raise ProtocolError(f"no HTTP status line: {lines[0][:80]!r}")
        status = int(status_line[1])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked(reader)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length > MAX_BODY:
                await self.close()
                raise ProtocolError(f"a body of {length} bytes")
            body = await reader.readexactly(length)
        else:  # the body ends with the connection
            body = await self._until_closed(reader)
            await self.close()
            return status, body
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def _until_closed(self, reader: asyncio.StreamReader) -> bytes:
        """Everything up to the end of the connection (``read(n)`` returns what has
        arrived so far, not the whole body)."""
        parts, size = [], 0
        while part := await reader.read(65536):
            size += len(part)
            if size > MAX_BODY:
                await self.close()
                raise ProtocolError(f"a body of more than {MAX_BODY} bytes")
            parts.append(part)
        return b"".join(parts)

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected: the final CRLF
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


def search_path(query: str, k: int) -> str:
    """The search request's path and query string."""
    return f"{SEARCH_PATH}?{urlencode({'q': query, 'k': k})}"


def check(status: int, body: bytes) -> str | None:
    """Why an answer is not a search result (None when it is one)."""
    if status != 200:
        return f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
    try:
        json.loads(body)["results"]
    except (ValueError, KeyError, TypeError):
        return "answer without a results list"
    return None


async def _send(conn: HttpConnection, path: str) -> tuple[str | None, float]:
    """One request: why it failed (or None), and when its answer was complete."""
    try:
        status, body = await conn.get(path)
    except (TimeoutError, OSError, ProtocolError, ValueError) as exc:
        await conn.close()
        return f"{type(exc).__name__}: {exc}", time.perf_counter()
    done = time.perf_counter()  # latency ends with the last byte, before the check
    return check(status, body), done


async def _one(
    base_url: str, queries: list[str], rounds: int, k: int, between: Callable[[], None] | None
) -> LoadResult:
    result = LoadResult(clients=1, seconds=0.0)
    conn = HttpConnection(base_url)
    paths = [search_path(q, k) for q in queries]
    try:
        for path in paths:  # warm-up: connection, caches
            await _send(conn, path)
        for _ in range(rounds):
            cpu, started = time.process_time(), time.perf_counter()
            for path in paths:
                sent = time.perf_counter()
                problem, done = await _send(conn, path)
                result.sent += 1
                if problem:
                    result.record_error(problem)
                else:
                    result.ok += 1
                    result.latencies_ms.append((done - sent) * 1000)
            result.seconds += time.perf_counter() - started
            result.client_cpu_s += time.process_time() - cpu
            if between is not None:
                between()  # blocks the loop on purpose: nothing else is in flight
    finally:
        await conn.close()
    return result


def one_client(
    base_url: str,
    queries: list[str],
    rounds: int,
    k: int = 10,
    between: Callable[[], None] | None = None,
) -> LoadResult:
    """Sequential requests over one connection after one warm-up pass; ``between`` runs
    after each round (the harness times an in-process round there, so that the two
    medians come from the same minutes). Its time is not counted."""
    return asyncio.run(_one(base_url, queries, rounds, k, between))


async def _client(
    base_url: str,
    paths: list[str],
    offset: int,
    warm_until: float,
    stop_at: float,
    result: LoadResult,
) -> None:
    conn = HttpConnection(base_url)
    i = offset
    try:
        while True:
            sent = time.perf_counter()
            if sent >= stop_at:
                return
            path = paths[i % len(paths)]
            i += 1
            problem, done = await _send(conn, path)
            result.sent += 1
            if sent < warm_until:
                continue  # warm-up requests are not counted
            if problem:
                result.record_error(problem)
            else:
                result.ok += 1
                result.latencies_ms.append((done - sent) * 1000)
    finally:
        await conn.close()


async def _many(
    base_url: str, queries: list[str], clients: int, seconds: float, warmup: float, k: int
) -> LoadResult:
    result = LoadResult(clients=clients, seconds=seconds)
    paths = [search_path(q, k) for q in queries]
    cpu, now = time.process_time(), time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    spread = max(1, len(paths) // clients)
    await asyncio.gather(
        *(_client(base_url, paths, c * spread, warm_until, stop_at, result) for c in range(clients))
    )
    # requests sent before stop_at may finish after it; count the real span
    result.seconds = max(seconds, time.perf_counter() - warm_until)
    result.client_cpu_s = time.process_time() - cpu
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
