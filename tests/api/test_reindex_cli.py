"""`kb reindex` as a real command: beside a running server and a concurrent ingest, and
killed with SIGKILL at any moment."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live import fake_env, kb_serve, run_kb

from .test_concurrency import _report


def _kb(*args: str, env: dict) -> subprocess.CompletedProcess:
    return run_kb(*args, env=env)


def _stats(index: Path, env: dict) -> dict:
    done = _kb("stats", "--index", str(index), "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _sqlite_counts(index: Path) -> tuple[int, int]:
    manifest = json.loads((index / "manifest.json").read_text())
    db = sqlite3.connect(index / manifest["store"] / "kb.sqlite")
    try:
        return (
            db.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
        )
    finally:
        db.close()


@pytest.fixture
def index(tmp_path: Path) -> tuple[Path, dict, Path]:
    env = fake_env()
    folder = tmp_path / "berichte"
    folder.mkdir()
    topics = ["Wasserstoff", "Fachkräfte", "Recycling"]
    for i in range(30):
        _report(folder, f"bericht-{i:02d}", i, topics[i % 3])
    index = tmp_path / "index"
    done = _kb("ingest", str(folder), "--index", str(index), "-q", env=env)
    assert done.returncode == 0, done.stderr
    return index, env, tmp_path


def test_kill_9_at_any_moment_of_a_reindex_leaves_a_consistent_index(index):
    index, env, _ = index
    rng = random.Random(11)
    before = _stats(index, env)
    for trial in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "reindex", "--index", str(index)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.5, 3.0))  # start-up takes about a second: hit every phase
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # the next open rolls back what the kill left; the counts agree everywhere
        after = _stats(index, env)
        assert (after["documents"], after["chunks"]) == (before["documents"], before["chunks"])
        assert after["vectors"] == after["chunks"]
        assert _sqlite_counts(index) == (before["documents"], before["chunks"])
        assert not list(index.glob("store-*.building")), trial
    found = _kb("search", "Wasserstoff", "--index", str(index), "--json", env=env)
    assert found.returncode == 0 and json.loads(found.stdout)["results"]
    assert len([p for p in index.glob("store-*") if p.is_dir()]) <= 2


def test_a_running_server_follows_a_reindex_and_an_ingest_during_it_is_kept(index):
    index, env, tmp_path = index
    log = tmp_path / "server.log"
    with kb_serve(index, log, env=env) as base:
        late = tmp_path / "spaet"
        late.mkdir()
        _report(late, "spaeter-bericht", 99, "Kreislaufwirtschaft")
        reindex = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "reindex", "--index", str(index)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        ingest = _kb("ingest", str(late), "--index", str(index), env=env)
        _, err = reindex.communicate(timeout=120)
        assert reindex.returncode == 0, err
        assert ingest.returncode == 0 and "Traceback" not in ingest.stderr, ingest.stderr
        manifest = json.loads((index / "manifest.json").read_text())
        assert manifest["store"] == "store-0002"
        # the server answers from the new store, with the document ingested meanwhile
        hits = httpx.get(f"{base}/api/v1/search", params={"q": "Kreislaufwirtschaft"}).json()
        assert hits["results"][0]["id"] == "spaeter-bericht"
        health = httpx.get(f"{base}/healthz").json()
        assert health["documents"] == 31 == _sqlite_counts(index)[0]
    assert "Traceback" not in log.read_text()
