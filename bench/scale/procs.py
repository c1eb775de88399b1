"""Child processes for the scale benchmark: timed runs with their I/O, workers, servers.

Only processes started here are ever signalled, by their own id (each child leads its
own process group, so a child's helpers go with it).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: children still running, so that an interrupted benchmark can end them
_LIVE: set[subprocess.Popen] = set()


class StepFailed(Exception):
    """A benchmark step failed in an expected way (exit code, timeout); one line of reason."""


@dataclass
class RunResult:
    """A finished command: wall time and what the kernel accounted to it."""

    wall_s: float
    cpu_s: float  # user + system
    write_bytes: int  # bytes sent to the storage layer (/proc/<pid>/io write_bytes)
    wchar: int  # bytes passed to write() and friends
    peak_rss_bytes: int
    stdout: str


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _read_io(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/io") as fh:
            return {k: int(v) for k, v in (line.split(": ") for line in fh if ": " in line)}
    except OSError:
        return {}


def _stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the child's process group, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        _LIVE.discard(proc)
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    _LIVE.discard(proc)


def stop_all() -> None:
    """End every child this module started that still runs."""
    for proc in list(_LIVE):
        _stop_group(proc, grace=5.0)


def _spawn(cmd: list[str], *, cwd: Path, env: dict, log: Path, **kwargs) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stderr=err, start_new_session=True, **kwargs)
    _LIVE.add(proc)
    return proc


def run_measured(
    cmd: list[str], *, cwd: Path, env: dict, log: Path, timeout: float, what: str
) -> RunResult:
    """Run ``cmd`` to its end; StepFailed on a non-zero exit or after ``timeout`` seconds.

    I/O counters are read from the finished but not yet reaped child, so the bytes of
    its last writes are included; CPU time and peak RSS come from its rusage.
    """
    started = time.perf_counter()
    proc = _spawn(cmd, cwd=cwd, env=env, log=log, stdout=subprocess.PIPE)
    out_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    deadline = started + timeout
    while True:
        # WNOWAIT: the child stays a zombie, so /proc/<pid>/io still holds its totals
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            break
        if time.perf_counter() > deadline:
            _stop_group(proc)
            raise StepFailed(f"{what}: timed out after {timeout:.0f} s (log {log})")
        time.sleep(0.05)
    wall = time.perf_counter() - started
    io = _read_io(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    _LIVE.discard(proc)
    reader.join(timeout=10)
    stdout = b"".join(out_chunks).decode("utf-8", errors="replace")
    if proc.returncode != 0:
        reason = _tail(log) or stdout.strip()[-500:]
        raise StepFailed(f"{what}: exit code {proc.returncode}: {reason} (log {log})")
    return RunResult(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        write_bytes=io.get("write_bytes", usage.ru_oublock * 512),
        wchar=io.get("wchar", 0),
        peak_rss_bytes=usage.ru_maxrss * 1024,
        stdout=stdout,
    )


class Worker:
    """A long-lived child answering JSON lines: one request line in, one ``@@`` line out.

    Lines without the ``@@`` prefix (library chatter) are ignored.
    """

    PREFIX = "@@"

    def __init__(self, cmd: list[str], *, cwd: Path, env: dict, log: Path, name: str):
        self.name = name
        self.log = log
        self.info: dict = {}  # the worker's ready message
        self.proc = _spawn(
            cmd, cwd=cwd, env=env, log=log, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace").strip()
            if line.startswith(self.PREFIX):
                self._lines.put(line[len(self.PREFIX) :])
        self._lines.put(None)  # end of output: the child has gone

    def receive(self, timeout: float) -> dict:
        """The next reply; StepFailed if the child dies, errs or is silent too long."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise StepFailed(
                f"{self.name}: no answer within {timeout:.0f} s (log {self.log})"
            ) from None
        if line is None:
            self.proc.wait(timeout=10)
            raise StepFailed(
                f"{self.name}: exited with code {self.proc.returncode}: {_tail(self.log)}"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise StepFailed(f"{self.name}: {reply['error']}")
        return reply

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its reply."""
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # receive() reports how the child ended
        return self.receive(timeout)

    def close(self) -> None:
        """Ask the child to quit, then make sure it has."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired, ValueError):
                pass
        _stop_group(self.proc)


class Server:
    """``kb serve`` (or any HTTP server command) in the background."""

    def __init__(self, cmd: list[str], *, cwd: Path, env: dict, log: Path, base_url: str):
        self.log = log
        self.base_url = base_url
        self.proc = _spawn(cmd, cwd=cwd, env=env, log=log, stdout=subprocess.DEVNULL)

    def wait_ready(self, timeout: float, path: str = "/healthz") -> float:
        """Seconds until ``path`` answers 200; StepFailed if the server dies or is late."""
        import httpx

        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise StepFailed(
                    f"server exited with code {self.proc.returncode}: {_tail(self.log)}"
                )
            try:
                if httpx.get(self.base_url + path, timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise StepFailed(f"server not ready after {timeout:.0f} s (log {self.log})")

    def rss_bytes(self) -> tuple[int, int]:
        """(RSS of the server and all its descendants, their count) from /proc."""
        pids = _descendants(self.proc.pid)
        return sum(_rss(pid) for pid in pids), len(pids)

    def pss_bytes(self) -> int:
        """PSS of the server and all its descendants: pages shared by several processes
        (the mapped vectors, libraries) count once in the sum, not once per process."""
        return sum(_pss(pid) for pid in _descendants(self.proc.pid))

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its descendants."""
        return sum(_cpu_seconds(pid) for pid in _descendants(self.proc.pid))

    def stop(self) -> None:
        """End the server and its workers."""
        _stop_group(self.proc, grace=20.0)


def _rss(pid: int) -> int:
    return _proc_kib(f"/proc/{pid}/status", "VmRSS:") * 1024


def _pss(pid: int) -> int:
    return _proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:") * 1024


def _proc_kib(path: str, key: str) -> int:
    """The kB figure of the line starting with ``key`` in a /proc file (0 if gone)."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat, 12 and 13 after the name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it (from /proc/<pid>/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ")"
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def load_average() -> float:
    """The machine's 1-minute load average (other work competing for the cores)."""
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (apparent size)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
