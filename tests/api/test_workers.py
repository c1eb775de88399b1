"""`kb serve --workers N`: several processes answer, and each follows every commit."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live import fake_env, kb_serve, run_kb

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
