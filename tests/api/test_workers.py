"""`kb serve --workers N`: several processes answer, and each follows every commit."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.live import fake_env, kb_serve, kb_server, run_kb

from .test_concurrency import _report


def test_two_workers_answer_and_both_see_a_new_report(tmp_path: Path):
    env = fake_env()
    folder = tmp_path / "berichte"
    folder.mkdir()
    for i in range(6):
        _report(folder, f"bericht-{i}", i, "Recycling")
    index = tmp_path / "index"
    assert run_kb("ingest", str(folder), "--index", str(index), "-q", env=env).returncode == 0
    with kb_serve(index, tmp_path / "server.log", "--workers", "2", env=env) as base:
        with httpx.Client(base_url=base) as client:
            assert client.get("/healthz").json()["documents"] == 6
            late = tmp_path / "spaet"
            late.mkdir()
            _report(late, "neuer-bericht", 42, "Wasserstoff")
            done = run_kb("ingest", str(late), "--index", str(index), "-q", env=env)
            assert done.returncode == 0, done.stderr
            # new connections land on either worker: every answer knows the new report
            for _ in range(12):
                with httpx.Client(base_url=base) as fresh:
                    assert fresh.get("/healthz").json()["documents"] == 7
                    hit = fresh.get("/api/v1/documents/neuer-bericht")
                    assert hit.status_code == 200
    log = (tmp_path / "server.log").read_text()
    assert log.count("Application startup complete") == 2 and "Traceback" not in log


def test_the_supervisor_is_a_small_process_of_its_own(tmp_path: Path):
    """`kb serve --workers 2` checks the index, then becomes a bare supervisor: the same
    process, which imports neither FAISS nor the model; the workers hold those."""
    env = fake_env()
    index = _one_report_index(tmp_path, env)
    with kb_server(index, tmp_path / "server.log", "--workers", "2", env=env) as (base, proc):
        with httpx.Client(base_url=base) as client:
            assert client.get("/api/v1/search", params={"q": "Recycling"}).status_code == 200
        command = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        supervisor = Path(f"/proc/{proc.pid}/maps").read_text()
        workers = [
            Path(f"/proc/{pid}/maps").read_text()
            for pid in _children(proc.pid)
            if b"api.serving" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
    assert command[1:3] == [b"-m", b"api.serving"], command
    assert "faiss" not in supervisor and "marisa" not in supervisor
    assert sum("faiss" in maps for maps in workers) == 2


def _one_report_index(tmp_path: Path, env: dict[str, str]) -> Path:
    folder = tmp_path / "berichte"
    folder.mkdir()
    _report(folder, "bericht", 1, "Recycling")
    index = tmp_path / "index"
    assert run_kb("ingest", str(folder), "--index", str(index), "-q", env=env).returncode == 0
    return index


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


def _connections_per_process(pids: list[int], port: int) -> dict[int, int]:
    """Established TCP connections to ``port`` held by each of ``pids`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    counts = {}
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts


def _listening(port: int) -> int:
    """Sockets listening on ``port`` (from /proc): a worker listens once it is up."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                count += 1
    return count


def test_connections_opened_at_once_spread_over_the_workers(tmp_path: Path):
    """One socket per worker (SO_REUSEPORT): 16 kept-alive connections opened together
    do not all land on the worker that woke first."""
    env = fake_env()
    index = _one_report_index(tmp_path, env)
    with kb_server(index, tmp_path / "server.log", "--workers", "2", env=env) as (base, proc):
        port = int(base.rsplit(":", 1)[1])
        # the server answers once one worker is up; the kernel spreads connections over
        # the sockets that listen, so wait for the other worker too
        deadline = time.monotonic() + 60
        while _listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _listening(port) == 2
        clients = [httpx.Client(base_url=base) for _ in range(16)]
        try:
            for client in clients:
                assert client.get("/api/v1/search", params={"q": "Recycling"}).status_code == 200
            workers = _children(proc.pid)
            counts = _connections_per_process(workers, port)
        finally:
            for client in clients:
                client.close()
    held = [n for n in counts.values() if n]
    assert sum(held) == 16, counts
    assert len(held) == 2, counts  # both workers hold some (all on one: p ≈ 3e-5)


def test_workers_refuse_a_port_another_program_listens_on(tmp_path: Path):
    """SO_REUSEPORT would let the workers share a port with a program already on it."""
    import socket

    env = fake_env()
    index = tmp_path / "index"
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run_kb(
            "serve", "--index", str(index), "--create", "--workers", "2", "--port", port, env=env
        )
    assert done.returncode == 1
    assert "is in use by another program" in done.stderr
    assert "Traceback" not in done.stderr
