"""A live ``kb serve`` for tests that need a real server: a subprocess on a free port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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
