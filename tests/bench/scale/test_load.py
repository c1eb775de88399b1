"""The scale benchmark's HTTP load generator against a real server on loopback.

The server is the standard library's: it sends each kind of answer the client must
understand (a sized body, a chunked one, one ending with the connection) and the
errors it must count.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.scale import load
from tests.live import stdlib_server_in_thread

GOOD = json.dumps({"results": [{"id": "a"}], "total": 1}).encode()
#: an answer of 300 kB, sent in parts and ended by closing the connection
LONG = json.dumps({"results": [{"id": str(i), "text": "x" * 290} for i in range(1_000)]}).encode()


class Handler(BaseHTTPRequestHandler):
    """Answers by the query ``q``: ``sized``, ``chunked``, ``close``, ``fail``, ``junk``."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        query = parse_qs(urlsplit(self.path).query)
        q = query["q"][0]
        self.seen.append(self.path)
        if q == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (GOOD[:7], GOOD[7:]):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif q in ("close", "long"):
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            body = GOOD if q == "close" else LONG
            for start in range(0, len(body), 4096):  # in parts, flushed one by one
                self.wfile.write(body[start : start + 4096])
                self.wfile.flush()
            self.close_connection = True
        else:
            status, body = {"fail": (500, b"broken"), "junk": (200, b"<html>")}.get(q, (200, GOOD))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    with stdlib_server_in_thread(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield url


def test_one_connection_reads_every_kind_of_body(server):
    async def run():
        conn = load.HttpConnection(server)
        try:
            return [await conn.get(load.search_path(q, 10)) for q in ("sized", "chunked", "close")]
        finally:
            await conn.close()

    assert asyncio.run(run()) == [(200, GOOD)] * 3


def test_a_body_ended_by_the_connection_is_read_to_its_end(server):
    async def run():
        conn = load.HttpConnection(server)
        try:
            return await conn.get(load.search_path("long", 10)), await conn.get("/?q=sized")
        finally:
            await conn.close()

    (status, body), after = asyncio.run(run())
    assert status == 200 and len(body) == len(LONG) and body == LONG
    assert after == (200, GOOD)  # a new connection for the next request


def test_one_client_counts_answers_and_errors(server):
    result = load.one_client(server, ["sized", "fail", "chunked", "junk", "close"], rounds=2)
    assert (result.ok, result.errors, result.sent) == (6, 4, 10)
    assert result.first_error.startswith("HTTP 500: broken")
    assert len(result.latencies_ms) == 6 and all(ms > 0 for ms in result.latencies_ms)
    assert result.client_cpu_ms_per_request > 0
    # the query and k reach the server; the warm-up pass is sent but not counted
    assert len(Handler.seen) == 15
    assert parse_qs(urlsplit(Handler.seen[0]).query) == {"q": ["sized"], "k": ["10"]}


def test_one_client_runs_the_pairing_step_after_each_round_and_leaves_its_time_out(server):
    import time

    calls = []

    def between():
        calls.append(len(Handler.seen))  # requests the server had seen by then
        time.sleep(0.3)

    result = load.one_client(server, ["sized", "chunked"], rounds=3, between=between)
    assert result.ok == 6
    assert calls == [4, 6, 8]  # after the warm-up pass and each round of two
    assert result.seconds < 0.3  # three 0.3 s pauses, none counted
    assert len(result.latencies_ms) == 6 and max(result.latencies_ms) < 300


def test_many_clients_keep_going_after_errors(server):
    result = load.many_clients(server, ["sized", "junk"], clients=4, seconds=0.5, warmup=0.1)
    assert result.ok > 0 and result.errors > 0
    assert result.first_error == "answer without a results list"
    assert result.sent >= result.ok + result.errors
    assert result.per_second == pytest.approx(result.ok / result.seconds)


def test_a_server_that_is_gone_is_an_error_not_a_crash():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = load.one_client(f"http://127.0.0.1:{port}", ["sized"], rounds=1)
    assert (result.ok, result.errors) == (0, 1)
    assert "ConnectionRefusedError" in result.first_error


def test_only_http_urls():
    with pytest.raises(ValueError, match="http://"):
        load.HttpConnection("https://example.org")
