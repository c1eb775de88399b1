"""The ``kb`` command through click's runner and, once, as a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.live import fake_env, free_port, kb_serve, run_kb


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "command",
    [[], ["ingest"], ["search"], ["serve"], ["stats"], ["remove"], ["eval"], ["reindex"]],
)
def test_help_works_for_every_command(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_ingest_then_search_json_matches_the_http_api(
    tmp_path: Path, reports: Path, settings: Settings
):
    index = str(settings.index)
    result = run("ingest", str(reports), "--index", index)
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output
    again = run("ingest", str(reports), "--index", index)
    assert "4 unchanged" in again.output

    cli = json.loads(run("search", "Fachkräfte", "--index", index, "--json", "-k", "3").output)
    with TestClient(create_app(settings)) as client:
        http = client.get("/api/v1/search", params={"q": "Fachkräfte", "k": 3}).json()
    cli.pop("took_ms")
    http.pop("took_ms")
    # the links to other pages are the server's URLs; everything else is the same
    assert (http.pop("next"), http.pop("prev")) == (None, None)
    assert cli == http
    assert cli["results"][0]["id"] == "fachkraefte-treffen"


def test_ingest_processes_option_is_checked_and_gives_the_same_index(
    tmp_path: Path, settings: Settings
):
    from tests.ingest.test_parallel_ingest import _corpus

    reports = _corpus(tmp_path / "long", 20)  # long enough for the helper processes
    bad = run("ingest", str(reports), "--index", str(tmp_path / "x"), "--processes", "-1")
    assert bad.exit_code == 2 and "--processes" in bad.output
    answers = []
    for processes in ("1", "2"):
        index = str(tmp_path / f"index-{processes}")
        result = run("ingest", str(reports), "--index", index, "--processes", processes)
        assert "19 added, 0 updated, 0 unchanged, 1 duplicate, 0 skipped, 1 failed" in result.output
        found = json.loads(run("search", "Wasserstoff", "--index", index, "--json").output)
        found.pop("took_ms")
        answers.append(found)
    assert answers[0] == answers[1] and answers[0]["total"] > 0


def test_plain_search_output_and_stats(reports: Path, settings: Settings):
    index = str(settings.index)
    run("ingest", str(reports), "--index", index)
    out = run("search", "Kreislaufwirtschaft", "--index", index).output
    assert out.splitlines()[0].endswith("Kreislaufwirtschaft in der Kunststoffindustrie")
    stats = json.loads(run("stats", "--index", index, "--json").output)
    assert stats["documents"] == 4
    assert stats["chunks"] == stats["vectors"] > 0
    assert stats["embedder"] == "fake"


def test_bad_files_are_reported_and_the_rest_is_ingested(
    tmp_path: Path, reports: Path, settings: Settings
):
    (reports / "leer.txt").write_bytes(b"")
    (reports / "kaputt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\n garbage")
    (reports / "binaer.txt").write_bytes(bytes(range(256)) * 8)
    result = CliRunner().invoke(main, ["ingest", str(reports), "--index", str(settings.index)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(lines) == 3
    assert any("leer.txt" in line and "empty" in line for line in lines)
    assert "Traceback" not in result.output
    assert "EOF marker" not in result.output  # no library warnings, one line per file
    assert "4 added" in result.output and "3 failed" in result.output
    stats = json.loads(run("stats", "--index", str(settings.index), "--json").output)
    assert stats["documents"] == 4


def test_search_errors_are_one_line_without_traceback(reports: Path, settings: Settings):
    run("ingest", str(reports), "--index", str(settings.index))
    result = CliRunner().invoke(main, ["search", " ", "--index", str(settings.index)])
    assert result.exit_code == 1
    assert "Error: query is empty" in result.output
    missing = CliRunner().invoke(main, ["search", "x", "--index", str(settings.index) + "-no"])
    assert missing.exit_code == 1
    assert "no knowledge base" in missing.output


def test_remove_command(reports: Path, settings: Settings):
    run("ingest", str(reports), "--index", str(settings.index))
    assert run("remove", "kreislauf", "--index", str(settings.index)).exit_code == 0
    result = CliRunner().invoke(main, ["remove", "kreislauf", "--index", str(settings.index)])
    assert result.exit_code == 1 and "no document" in result.output


def test_kb_runs_as_a_real_command(reports: Path, settings: Settings):
    done = run_kb("ingest", str(reports), "--index", str(settings.index))
    assert done.returncode == 0, done.stderr
    found = run_kb("search", "Wasserstoff", "--index", str(settings.index), "--json")
    assert json.loads(found.stdout)["results"][0]["id"] == "wasserstoff-forum"


def test_a_bad_setting_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("KB_RANKING", "magic")
    result = CliRunner().invoke(main, ["search", "Wasserstoff"])
    assert result.exit_code == 1
    assert "invalid setting KB_RANKING" in result.output
    assert "Traceback" not in result.output


def test_keys_create_list_revoke(reports: Path, settings: Settings):
    index = ["--index", str(settings.index)]
    run("ingest", str(reports), *index)
    made = run("keys", "create", "amt", "--role", "curator", *index)
    assert made.exit_code == 0, made.output
    key = made.output.split()[-1]  # the key is the last word
    assert key.startswith("kb_") and len(key) > 40
    listed = run("keys", "list", *index).output
    assert "amt" in listed and "curator" in listed and key not in listed
    twice = CliRunner().invoke(main, ["keys", "create", "amt", *index])
    assert twice.exit_code == 1 and "exists" in twice.output and "Traceback" not in twice.output
    assert run("keys", "revoke", "amt", *index).exit_code == 0
    assert "revoked" in run("keys", "list", *index).output
    kb = KnowledgeBase.open(settings)
    assert kb.verify_key(key) is None
    kb.close()
    for command in (["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"]):
        assert CliRunner().invoke(main, [*command, "--help"]).exit_code == 0


def test_serve_refuses_a_missing_index_in_one_line(tmp_path: Path):
    missing = tmp_path / "vertippt"
    done = run_kb("serve", "--index", str(missing), "--port", str(free_port()))
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: no knowledge base in {missing}")
    assert "kb serve --create" in line
    assert not missing.exists()  # nothing was created


def test_serve_create_serves_a_new_empty_index(tmp_path: Path):
    index = tmp_path / "neu"
    with kb_serve(index, tmp_path / "server.log", "--create") as base:
        assert httpx.get(f"{base}/api/v1/documents").json()["total"] == 0
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    assert (index / "manifest.json").exists()


def test_serve_with_a_bad_cors_setting_is_one_line(tmp_path: Path, reports: Path):
    index = str(tmp_path / "index")
    assert run("ingest", str(reports), "--index", index).exit_code == 0
    done = run_kb(
        "serve",
        "--index",
        index,
        "--port",
        str(free_port()),
        env=fake_env(KB_CORS_ORIGINS="portal"),
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: invalid setting KB_CORS_ORIGINS")
