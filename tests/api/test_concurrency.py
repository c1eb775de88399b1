"""Readers never fail while writers write: a live `kb serve`, concurrent clients, and CLI
writers (an ingest of many files and removals) on the same index."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.live import fake_env, kb_serve, run_kb

CLIENTS = 8
MIN_SECONDS = 20
NEW_FILES = 120
REMOVALS = 10
QUERIES = ["Wasserstoff", "Fachkräfte", "hydrogen", "Recycling", "Bericht Nummer", "Netzwerk"]


def _report(folder: Path, name: str, number: int, topic: str) -> None:
    (folder / f"{name}.md").write_text(
        f"---\ntitle: Bericht Nummer {number} zu {topic}\ndate: 2022-01-{1 + number % 28:02d}\n"
        f"topics: [{topic}]\n---\n"
        f"Beim Netzwerktreffen ging es um {topic}. Bericht Nummer {number} hält fest, was die "
        f"Unternehmen zum Thema {topic} vereinbart haben.\n\n"
        f"Im zweiten Teil stellten Betriebe Beispiele vor: {topic} in der Praxis, mit Zahlen "
        f"und Erfahrungen aus der Region.\n",
        encoding="utf-8",
    )


@pytest.fixture
def server(tmp_path: Path):
    env = fake_env()
    first, later = tmp_path / "erste", tmp_path / "neue"
    first.mkdir()
    later.mkdir()
    topics = ["Wasserstoff", "Fachkräfte", "Recycling", "Digitalisierung"]
    for i in range(30):
        _report(first, f"start-{i:03d}", i, topics[i % 4])
    for i in range(NEW_FILES):
        _report(later, f"neu-{i:03d}", 100 + i, topics[i % 4])
    index = tmp_path / "index"
    built = run_kb("ingest", str(first), "--index", str(index), "-q", env=env)
    assert built.returncode == 0, built.stderr
    log = tmp_path / "server.log"
    with kb_serve(index, log, env=env) as base:
        yield {"base": base, "index": index, "later": later, "env": env, "log": log}


def test_clients_see_no_errors_and_no_removed_report_while_the_cli_writes(server):
    base, index, env = server["base"], server["index"], server["env"]
    stop = threading.Event()
    removed_at: dict[str, float] = {}  # doc id -> when its removal had committed
    seen: list[tuple[float, set[str]]] = []  # (request start, ids returned)
    took: list[float] = []  # seconds per answered request
    failures: list[str] = []
    counts = {"requests": 0}
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    if rng.random() < 0.8:
                        r = http.get("/api/v1/search", params={"q": rng.choice(QUERIES), "k": 20})
                        ids = (
                            {h["id"] for h in r.json()["results"]}
                            if r.status_code == 200
                            else set()
                        )
                    else:
                        r = http.get(f"/api/v1/documents/start-{rng.randrange(30):03d}")
                        ids = {r.json()["id"]} if r.status_code == 200 else set()
                        if r.status_code == 404:
                            r.status_code = 200  # a removed report: a correct answer
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(f"connection error: {exc!r}")
                    continue
                with lock:
                    counts["requests"] += 1
                    if r.status_code >= 500 or r.status_code != 200:
                        failures.append(f"{r.status_code} {r.request.url}: {r.text[:200]}")
                    seen.append((started, ids))
                    took.append(time.monotonic() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(1)
    ingest = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "ingest", str(server["later"]), "--index", str(index)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer_errors = []
    for i in range(REMOVALS):
        doc_id = f"start-{i * 3:03d}"
        done = run_kb("remove", doc_id, "--index", str(index), env=env)
        removed_at[doc_id] = time.monotonic()
        if done.returncode != 0 or "Traceback" in done.stderr:
            writer_errors.append(done.stderr)
    out, err = ingest.communicate(timeout=300)
    if ingest.returncode != 0 or "Traceback" in err:
        writer_errors.append(err)
    time.sleep(max(0.0, MIN_SECONDS - (time.monotonic() - began)))
    stop.set()
    for t in threads:
        t.join(60)

    assert not writer_errors, writer_errors
    assert not failures, failures[:5]
    assert counts["requests"] > 100
    took.sort()
    print(  # the figures of the run, with `pytest -s`
        f"\n{counts['requests']} requests, p50 {took[len(took) // 2] * 1000:.1f} ms, "
        f"p99 {took[int(len(took) * 0.99)] * 1000:.1f} ms, {len(failures)} errors"
    )
    stale = [
        (doc_id, started - at)
        for started, ids in seen
        for doc_id, at in removed_at.items()
        if started > at and doc_id in ids
    ]
    assert not stale, stale[:5]
    assert "Traceback" not in server["log"].read_text()
    # one state everywhere: the server, `kb stats` and SQLite agree
    expected = 30 + NEW_FILES - REMOVALS
    health = httpx.get(f"{base}/healthz").json()
    stats = json.loads(run_kb("stats", "--index", str(index), "--json", env=env).stdout)
    (store,) = index.glob("store-*/kb.sqlite")
    db = sqlite3.connect(store)
    in_sqlite = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    db.close()
    assert health["documents"] == stats["documents"] == in_sqlite == expected
    assert health["chunks"] == stats["chunks"] == stats["vectors"] == chunks
