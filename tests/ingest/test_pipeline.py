"""Ingestion into a real knowledge base: outcomes per file, ids, skipping, bad input."""

from __future__ import annotations

from pathlib import Path

from ingest.pipeline import ingest_paths, iter_files
from search.kb import KnowledgeBase

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_folder_walk_skips_hidden_underscore_ignored_and_unsupported(tmp_path: Path):
    (tmp_path / "a.md").write_text("# A\n\nText.")
    (tmp_path / "notes.csv").write_text("x,y")
    (tmp_path / "_src").mkdir()
    (tmp_path / "_src" / "b.md").write_text("B")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text("C")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "README.md").write_text("queries")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.txt").write_text("D")
    (tmp_path / "sub" / "README.md").write_text("docs")
    (tmp_path / ".kbignore").write_text("# comment\neval/\nREADME.md\n")
    found = [source for _, source in iter_files([tmp_path])]
    assert found == ["a.md", "sub/d.txt"]


def test_reingest_keeps_ids_and_skips_unchanged_files(kb: KnowledgeBase, reports: Path):
    first = ingest_paths(kb, [reports])
    assert first.count("added") == 4
    ids = {r.path: r.doc_id for r in first.results}
    second = ingest_paths(kb, [reports])
    assert second.count("unchanged") == 4
    target = reports / "kreislauf.md"
    target.write_text(target.read_text() + "\nNeu: Rezyklate aus Altfenstern.\n")
    third = ingest_paths(kb, [reports])
    assert third.count("updated") == 1 and third.count("unchanged") == 3
    assert {r.path: r.doc_id for r in third.results} == ids
    assert "Altfenstern" in kb.get_document("kreislauf")["text"]
    assert kb.stats()["documents"] == 4


def test_same_file_name_in_two_folders_gets_two_ids(kb: KnowledgeBase, tmp_path: Path):
    for sub in ("2021", "2022"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "bericht.md").write_text(f"# Bericht {sub}\n\nText aus {sub}.")
    report = ingest_paths(kb, [tmp_path])
    ids = sorted(r.doc_id for r in report.results)
    assert len(set(ids)) == 2 and ids[0].startswith("bericht")


def test_bad_inputs_fail_one_by_one_and_lose_nothing(kb: KnowledgeBase, reports: Path):
    (reports / "leer.md").write_text("   \n")
    (reports / "junk.txt").write_bytes(b"\x00\x01\x02\x03" * 200)
    (reports / "kaputt.pdf").write_bytes((FIXTURES / "kaputt.pdf").read_bytes())
    (reports / "latin1.txt").write_bytes(
        "Bericht über Fachkräfte\n\nDie Größe der Betriebe spielt eine Rolle.".encode("latin-1")
    )
    report = ingest_paths(kb, [reports])
    failed = {Path(r.path).name: r.reason for r in report.failed}
    assert set(failed) == {"leer.md", "junk.txt", "kaputt.pdf"}
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert not report.ok
    assert report.count("added") == 5  # four reports and the Latin-1 file
    assert "Größe der Betriebe" in kb.get_document("latin1")["text"]
    stats = kb.stats()
    assert stats["documents"] == 5 and stats["vectors"] == stats["chunks"]


def test_pdf_keeps_page_numbers_and_metadata(kb: KnowledgeBase):
    report = ingest_paths(kb, [FIXTURES / "bericht-zwei-seiten.pdf"])
    assert report.ok, report.failed
    doc = kb.get_document(report.results[0].doc_id)
    assert doc["pages"] == 2
    assert doc["format"] == "pdf"
    pages = {
        row[0]
        for row in kb.index.current().store.conn.execute(
            "SELECT page FROM chunks WHERE doc_id = ?", (doc["id"],)
        )
    }
    assert pages == {1, 2}


def test_missing_and_unsupported_files_are_reported(kb: KnowledgeBase, tmp_path: Path):
    (tmp_path / "tabelle.xlsx").write_bytes(b"PK")
    report = ingest_paths(kb, [tmp_path / "fehlt.md", tmp_path / "tabelle.xlsx"])
    reasons = [r.reason for r in report.failed]
    assert "does not exist" in reasons[0]
    assert "unsupported file type" in reasons[1]
