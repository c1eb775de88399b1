"""The portal examples of docs/portal.md work: the Python one runs against a live `kb serve`."""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import fake_env, kb_serve, run_kb, stdlib_server_in_thread

PORTAL_DOC = Path(__file__).resolve().parents[2] / "docs" / "portal.md"


def code_blocks(language: str) -> list[str]:
    """The fenced code blocks of docs/portal.md in ``language``."""
    text = PORTAL_DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture
def live_server(tmp_path: Path, reports: Path):
    index = tmp_path / "index"
    done = run_kb("ingest", str(reports), "--index", str(index), "-q")
    assert done.returncode == 0, done.stderr
    with kb_serve(index, tmp_path / "server.log") as base:
        yield base


def test_the_python_example_runs_against_a_live_server(live_server: str, tmp_path: Path):
    (example,) = code_blocks("python")
    script = tmp_path / "portal_example.py"
    script.write_text(example, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=fake_env(KB_URL=live_server),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"\d of \d reports", lines[0])
    assert (
        f"- Wasserstoff für die Region (2021-03-04): {live_server}/berichte/wasserstoff-forum"
        in (lines)
    )
    assert any(re.fullmatch(r"best report: \d+ characters of text", line) for line in lines)
    assert "unchanged" in lines
    assert lines[-1] == "422 invalid_request k must be at least 1"


def test_the_doc_names_the_limits_the_server_enforces():
    from search.settings import Settings

    text = PORTAL_DOC.read_text(encoding="utf-8")
    defaults = Settings(embedder="fake")
    assert f"`q` 1–{defaults.max_query_chars} characters" in text
    assert f"`k` 1–{defaults.max_k} (default {defaults.default_k})" in text
    assert f"`offset` 0–{defaults.max_offset:,}" in text


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines in the test output
        pass


@contextlib.contextmanager
def portal_site(folder: Path) -> Iterator[str]:
    """A static site on its own loopback port: a portal's origin for the browser."""
    (folder / "index.html").write_text("<!doctype html><title>Portal</title>", encoding="utf-8")
    handler = functools.partial(_QuietFiles, directory=str(folder))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with stdlib_server_in_thread(site, host="localhost") as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize("allowed", [True, False], ids=["allowed-origin", "other-origin"])
def test_the_fetch_example_works_in_a_browser_from_allowed_origins_only(
    browser, tmp_path: Path, reports: Path, allowed: bool
):
    index = tmp_path / "index"
    assert run_kb("ingest", str(reports), "--index", str(index), "-q").returncode == 0
    (snippet,) = code_blocks("js")
    site = tmp_path / "portal"
    site.mkdir()
    with portal_site(site) as portal:
        origins = portal if allowed else "https://portal.example.org"
        env = fake_env(KB_CORS_ORIGINS=origins)
        with kb_serve(index, tmp_path / "server.log", env=env) as base:
            page = browser.new_page()
            page.goto(f"{portal}/")
            result = page.evaluate(
                "async () => {"
                + snippet.replace("https://kb.example.org", base)
                + "try { return await searchReports('Wasserstoff'); }"
                + " catch (error) { return String(error); } }"
            )
            page.close()
    if allowed:
        assert not isinstance(result, str), result
        assert result[0]["title"] == "Wasserstoff für die Region"
        assert result[0]["link"] == f"{base}/berichte/wasserstoff-forum"
    else:
        assert result == "TypeError: Failed to fetch"
