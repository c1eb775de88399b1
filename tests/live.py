"""A live ``kb serve`` for tests that need a real server: a subprocess on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_env(**extra: str) -> dict[str, str]:
    """The environment of a child ``kb`` process: the fake embedder, unbuffered output."""
    return {**os.environ, "KB_EMBEDDER": "fake", "PYTHONUNBUFFERED": "1", **extra}


def run_kb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m api.cli ARGS`` to its end; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env or fake_env(),
        timeout=300,
    )


@contextlib.contextmanager
def kb_serve(
    index: Path, log: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[str]:
    """Run ``python -m api.cli serve`` on ``index`` until the block ends; yields its base URL.

    Waits for ``/readyz``; fails with the server's output if it does not get ready.
    """
    with kb_server(index, log, *args, env=env, timeout=timeout) as (base, _):
        yield base


@contextlib.contextmanager
def kb_server(
    index: Path, log: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like :func:`kb_serve`, yielding (base URL, the server process): for tests that kill
    it. A process already ended is left alone at the end."""
    port = free_port()
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--index", str(index), "--port", str(port)]
            + list(args),
            env=env or fake_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"kb serve exited: {log.read_text()}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"kb serve did not get ready: {log.read_text()}")
                time.sleep(0.2)
            yield base, proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


class SlowUpload(threading.Thread):
    """Sends an upload over a raw socket in small pieces, so a test can kill the server at
    a chosen point; records how much was sent and the answer's status line if any."""

    def __init__(self, base: str, auth: dict, name: str, data: bytes, pause: float) -> None:
        super().__init__(daemon=True)
        request = httpx.Request(
            "POST",
            f"{base}/api/v1/documents",
            files=[("files", (name, data, "application/pdf"))],
            headers=auth,
        )
        self.body = request.read()
        url = urlsplit(base)
        self.address = (url.hostname, url.port)
        head = ["POST /api/v1/documents HTTP/1.1", f"Host: {url.netloc}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "host"]
        self.head = ("\r\n".join(head) + "\r\n\r\n").encode()
        self.pause = pause
        self.sent = 0
        self.status_line = ""

    def run(self) -> None:
        try:
            with socket.create_connection(self.address, timeout=60) as sock:
                sock.sendall(self.head)
                for start in range(0, len(self.body), 4096):
                    sock.sendall(self.body[start : start + 4096])
                    self.sent = start + len(self.body[start : start + 4096])
                    time.sleep(self.pause)
                self.status_line = sock.makefile("rb").readline().decode()
        except OSError:
            pass  # the server was killed


def consistent_state(index: Path, env: dict[str, str] | None = None) -> dict:
    """The index as SQLite has it, checked whole (AssertionError for a document written in
    part), and agreeing with `kb stats` of another process: documents, chunks, vectors."""
    stats = json.loads(run_kb("stats", "--index", str(index), "--json", env=env).stdout)
    (store,) = index.glob("store-*/kb.sqlite")
    with sqlite3.connect(store) as db:
        docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        declared = db.execute("SELECT COALESCE(SUM(n_chunks), 0) FROM documents").fetchone()[0]
        terms = db.execute("SELECT COUNT(*) FROM chunk_fts").fetchone()[0]
        partial = db.execute(
            "SELECT id FROM documents d WHERE n_chunks != "
            "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) OR NOT EXISTS "
            "(SELECT 1 FROM field_vectors f WHERE f.doc_id = d.id AND f.kind = 'metadata')"
        ).fetchall()
        ids = {r[0] for r in db.execute("SELECT id FROM documents")}
    assert partial == [], partial
    assert chunks == declared == terms
    assert (stats["documents"], stats["chunks"], stats["vectors"]) == (docs, chunks, chunks)
    return {"ids": ids, "documents": docs, "chunks": chunks}


@contextlib.contextmanager
def app_in_thread(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yields its URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def stdlib_server_in_thread(server, host: str = "127.0.0.1") -> Iterator[str]:
    """Run a standard-library HTTP server (bound to port 0) in a thread; yields its URL,
    with ``host`` as the name, and shuts it down after the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
