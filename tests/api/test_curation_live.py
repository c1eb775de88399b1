"""Curation against live `kb serve` processes: a change is seen by other processes at
once, two writers both succeed, searches go on during uploads, and a server killed with
SIGKILL in the middle of an upload leaves the old or the new state, never a mix."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.files import report_pdf
from tests.live import SlowUpload, consistent_state, fake_env, kb_serve, kb_server, run_kb

#: lexical ranking: with the fake embedder only words tell what a report holds
ENV = fake_env(KB_RANKING="lexical")


def _report(folder: Path, number: int) -> None:
    (folder / f"bericht-{number:03d}.md").write_text(
        f"---\ntitle: Netzwerktreffen {number}\ndate: 2023-02-{1 + number % 28:02d}\n---\n"
        f"Beim Netzwerktreffen {number} ging es um Wasserstoff und Fachkräfte in der Region. "
        f"Die Unternehmen vereinbarten gemeinsame Schritte für das kommende Jahr.\n",
        encoding="utf-8",
    )


@pytest.fixture
def live(tmp_path: Path) -> dict:
    """An index of eight reports and a curator key, made with the CLI."""
    folder = tmp_path / "berichte"
    folder.mkdir()
    for number in range(8):
        _report(folder, number)
    index = tmp_path / "index"
    built = run_kb("ingest", str(folder), "--index", str(index), "-q", env=ENV)
    assert built.returncode == 0, built.stderr
    made = run_kb("keys", "create", "amt", "--index", str(index), env=ENV)
    assert made.returncode == 0, made.stderr
    key = made.stdout.split()[-1]  # the key is the last word, for scripts
    assert key.startswith("kb_")
    return {"index": index, "key": key, "auth": {"Authorization": f"Bearer {key}"}, "tmp": tmp_path}


def upload(base: str, auth: dict, *files: tuple[str, bytes]) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/documents",
        files=[("files", (name, data, "application/pdf")) for name, data in files],
        headers=auth,
        timeout=120,
    )


def hits(base: str, query: str) -> list[dict]:
    answer = httpx.get(f"{base}/api/v1/search", params={"q": query, "k": 50}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def test_every_change_is_seen_at_once_by_another_process(live: dict):
    index, auth, tmp = live["index"], live["auth"], live["tmp"]
    with (
        kb_serve(index, tmp / "a.log", env=ENV) as writer,
        kb_serve(index, tmp / "b.log", env=ENV) as reader,
    ):
        added = upload(
            writer, auth, ("prozesse.pdf", report_pdf("Zwei Prozesse", marker="Gleichlauf"))
        )
        assert added.status_code == 201, added.text
        doc_id = added.json()["files"][0]["id"]
        assert [h["id"] for h in hits(reader, "Gleichlauf")] == [doc_id]
        patched = httpx.patch(
            f"{writer}/api/v1/documents/{doc_id}", json={"title": "Umbenannt"}, headers=auth
        )
        assert patched.status_code == 200
        assert hits(reader, "Gleichlauf")[0]["title"] == "Umbenannt"
        assert hits(reader, "Umbenannt")[0]["id"] == doc_id  # the new title terms
        gone = httpx.delete(f"{writer}/api/v1/documents/{doc_id}", headers=auth)
        assert gone.status_code == 204
        assert hits(reader, "Gleichlauf") == []
        assert httpx.get(f"{reader}/api/v1/documents/{doc_id}").status_code == 404
        cli = run_kb("search", "Gleichlauf", "--index", str(index), "--json", env=ENV)
        assert json.loads(cli.stdout)["results"] == []
        for log in (tmp / "a.log", tmp / "b.log"):
            assert "Traceback" not in log.read_text()


def test_two_uploads_and_a_cli_ingest_at_once_all_succeed(live: dict):
    index, auth, tmp = live["index"], live["auth"], live["tmp"]
    more = tmp / "mehr"
    more.mkdir()
    for number in range(100, 130):
        _report(more, number)
    answers: dict[str, httpx.Response] = {}
    with kb_serve(index, tmp / "server.log", env=ENV) as base:

        def send(name: str) -> None:
            files = [(f"{name}-{n}.pdf", report_pdf(f"{name} {n}", pages=4, marker=f"{name}x{n}"))
                     for n in range(3)]  # fmt: skip
            answers[name] = upload(base, auth, *files)

        threads = [threading.Thread(target=send, args=(name,)) for name in ("erster", "zweiter")]
        cli = threading.Thread(
            target=lambda: answers.setdefault(
                "cli", run_kb("ingest", str(more), "--index", str(index), "-q", env=ENV)
            )
        )
        for thread in [*threads, cli]:
            thread.start()
        for thread in [*threads, cli]:
            thread.join(300)
        for name in ("erster", "zweiter"):
            assert answers[name].status_code == 201, answers[name].text
            assert [f["status"] for f in answers[name].json()["files"]] == ["added"] * 3
            for n in range(3):
                assert len(hits(base, f"{name}x{n}")) == 1
        assert answers["cli"].returncode == 0, answers["cli"].stderr
        assert "30 added" in answers["cli"].stdout
        health = httpx.get(f"{base}/healthz").json()
    assert health["documents"] == 8 + 6 + 30
    (store,) = index.glob("store-*/kb.sqlite")
    with sqlite3.connect(store) as db:
        actors = dict(db.execute("SELECT actor, COUNT(*) FROM changes GROUP BY actor").fetchall())
    assert actors["amt"] == 6 and sum(v for k, v in actors.items() if k.startswith("cli:")) == 38


def test_searches_keep_answering_during_uploads(live: dict):
    index, auth, tmp = live["index"], live["auth"], live["tmp"]
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()
    with kb_serve(index, tmp / "server.log", env=ENV) as base:

        def search() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set():
                    try:
                        statuses.append(
                            client.get("/api/v1/search", params={"q": "Wasserstoff"}).status_code
                        )
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc))

        readers = [threading.Thread(target=search) for _ in range(4)]
        for thread in readers:
            thread.start()
        started = time.monotonic()
        files = [
            (f"last-{n}.pdf", report_pdf(f"Last {n}", pages=10, marker=f"lastwort{n}"))
            for n in range(10)
        ]
        during = len(statuses)
        answer = upload(base, auth, *files)
        took = time.monotonic() - started
        during = len(statuses) - during
        time.sleep(0.5)
        stop.set()
        for thread in readers:
            thread.join(30)
        assert answer.status_code == 201
        assert len(hits(base, "lastwort9")) == 1  # the new state, once committed
    assert not errors, errors[:3]
    assert statuses and set(statuses) == {200}
    assert during > 4 * took  # searches went on while the upload was written, not after


# --------------------------------------------------------------------------- kill -9


#: (when to kill, as a share of the body sent, or seconds after the whole body was sent)
KILLS = [("body", 0.5), ("after", 0.0), ("after", 0.05), ("after", 0.15), ("after", 0.4)]


def test_kill_9_during_an_upload_leaves_the_old_or_the_new_state(live: dict):
    index, auth, tmp = live["index"], live["auth"], live["tmp"]
    before = consistent_state(index, ENV)
    outcomes = []
    for number, (moment, value) in enumerate(KILLS):
        data = report_pdf(f"Absturz {number}", pages=10, marker=f"absturz{number}")
        with kb_server(index, tmp / "kill.log", env=ENV) as (base, proc):
            sender = SlowUpload(base, auth, f"absturz-{number}.pdf", data, pause=0.002)
            sender.start()
            if moment == "body":
                while sender.sent < value * len(sender.body):
                    time.sleep(0.001)
            else:
                while sender.sent < len(sender.body):
                    time.sleep(0.001)
                time.sleep(value)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            sender.join(10)
        state = consistent_state(index, ENV)
        new = state["ids"] - before["ids"]
        assert len(new) <= 1 and before["ids"] <= state["ids"]
        if moment == "body":
            assert not new  # an upload cut off while streaming writes nothing
        with kb_serve(index, tmp / "restart.log", env=ENV) as base:
            found = [h["id"] for h in hits(base, f"absturz{number}")]
            assert found == sorted(new)
            assert httpx.get(f"{base}/healthz").json()["documents"] == state["documents"]
        outcomes.append((moment, value, "new" if new else "old", sender.status_line.strip()))
        before = state
    print("kill -9 outcomes:", outcomes)
    assert "Traceback" not in (tmp / "restart.log").read_text()
