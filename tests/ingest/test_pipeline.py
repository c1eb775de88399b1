"""Ingestion into a real knowledge base: outcomes per file, ids, skipping, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ingest.pipeline
from ingest.formats import Limits
from ingest.pipeline import (
    MAX_NAME_CHARS,
    build_document,
    ingest_bytes,
    ingest_files,
    iter_files,
    safe_filename,
    upload_source,
)
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
    (tmp_path / "sub" / "eval").mkdir()  # "eval/" names the top-level folder only
    (tmp_path / "sub" / "eval" / "e.md").write_text("E")
    (tmp_path / ".kbignore").write_text("# comment\neval/\nREADME.md\n")
    found = list(iter_files([tmp_path]))
    assert [f.legacy_source for f in found] == ["a.md", "sub/d.txt", "sub/eval/e.md"]
    assert [f.source for f in found] == [
        f"{tmp_path.name}/a.md",
        f"{tmp_path.name}/sub/d.txt",
        f"{tmp_path.name}/sub/eval/e.md",
    ]
    assert all(f.problem is None for f in found)


def test_reingest_keeps_ids_and_skips_unchanged_files(kb: KnowledgeBase, reports: Path):
    first = ingest_files(kb, iter_files([reports]))
    assert first.count("added") == 4
    ids = {r.path: r.doc_id for r in first.results}
    second = ingest_files(kb, iter_files([reports]))
    assert second.count("unchanged") == 4
    target = reports / "kreislauf.md"
    target.write_text(target.read_text() + "\nNeu: Rezyklate aus Altfenstern.\n")
    third = ingest_files(kb, iter_files([reports]))
    assert third.count("updated") == 1 and third.count("unchanged") == 3
    assert {r.path: r.doc_id for r in third.results} == ids
    assert "Altfenstern" in kb.get_document("kreislauf")["text"]
    assert kb.stats()["documents"] == 4


def test_same_file_name_in_two_folders_gets_two_ids(kb: KnowledgeBase, tmp_path: Path):
    for sub in ("2021", "2022"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "bericht.md").write_text(f"# Bericht {sub}\n\nText aus {sub}.")
    report = ingest_files(kb, iter_files([tmp_path]))
    ids = sorted(r.doc_id for r in report.results)
    assert len(set(ids)) == 2 and ids[0].startswith("bericht")


def test_bad_inputs_fail_one_by_one_and_lose_nothing(kb: KnowledgeBase, reports: Path):
    (reports / "leer.md").write_text("   \n")
    (reports / "junk.txt").write_bytes(b"\x00\x01\x02\x03" * 200)
    (reports / "kaputt.pdf").write_bytes((FIXTURES / "kaputt.pdf").read_bytes())
    (reports / "latin1.txt").write_bytes(
        "Bericht über Fachkräfte\n\nDie Größe der Betriebe spielt eine Rolle.".encode("latin-1")
    )
    report = ingest_files(kb, iter_files([reports]))
    failed = {Path(r.path).name: r.reason for r in report.failed}
    assert set(failed) == {"leer.md", "junk.txt", "kaputt.pdf"}
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert not report.ok
    assert report.count("added") == 5  # four reports and the Latin-1 file
    assert "Größe der Betriebe" in kb.get_document("latin1")["text"]
    stats = kb.stats()
    assert stats["documents"] == 5 and stats["vectors"] == stats["chunks"]


def test_pdf_keeps_page_numbers_and_metadata(kb: KnowledgeBase):
    report = ingest_files(kb, iter_files([FIXTURES / "bericht-zwei-seiten.pdf"]))
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
    report = ingest_files(kb, iter_files([tmp_path / "fehlt.md", tmp_path / "tabelle.xlsx"]))
    reasons = [r.reason for r in report.failed]
    assert "does not exist" in reasons[0]
    assert "unsupported file type" in reasons[1]


def test_missing_file_reason_in_english_and_german_with_a_code(kb: KnowledgeBase, tmp_path: Path):
    (result,) = ingest_files(kb, iter_files([tmp_path / "fehlt.md"])).results
    assert result.status == "failed"
    assert result.code == "not_found"
    assert result.reason == "file not found (it does not exist)"
    assert result.german == "Datei nicht gefunden (existiert nicht)"


# -- source keys ---------------------------------------------------------------------


def test_source_key_of_a_file_given_directly_matches_its_folder_walk(
    kb: KnowledgeBase, reports: Path
):
    (direct,) = iter_files([reports / "kreislauf.md"])
    assert direct.source == f"{reports.name}/kreislauf.md"
    assert direct.legacy_source == "kreislauf.md"
    ingest_files(kb, iter_files([reports]))
    again = ingest_files(kb, iter_files([reports / "kreislauf.md"]))
    assert [r.status for r in again.results] == ["unchanged"]


def test_same_name_in_folders_given_one_by_one_stays_two_reports(kb: KnowledgeBase, tmp_path: Path):
    for name in ("A", "B"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "bericht.md").write_text(f"# Bericht {name}\n\nText aus {name}.")
    first = ingest_files(kb, iter_files([tmp_path / "A"]))
    second = ingest_files(kb, iter_files([tmp_path / "B"]))
    assert [r.status for r in first.results + second.results] == ["added", "added"]
    assert first.results[0].doc_id != second.results[0].doc_id
    assert kb.stats()["documents"] == 2
    assert "Text aus A" in kb.get_document(first.results[0].doc_id)["text"]


def test_a_document_under_the_old_key_keeps_its_id_and_moves_to_the_new_key(
    kb: KnowledgeBase, tmp_path: Path
):
    folder = tmp_path / "A"
    folder.mkdir()
    (folder / "bericht.md").write_text("# Bericht A\n\nText aus A.")
    # What an earlier version wrote: the source key was the path relative to the folder.
    data = (folder / "bericht.md").read_bytes()
    old, fmt = build_document(
        data, "bericht.md", "bericht.md", (1000, 200), Limits.from_settings(kb.settings)
    )
    kb.add_document("bericht-alt", old, fmt=fmt)

    moved = ingest_files(kb, iter_files([folder]))
    assert [(r.status, r.doc_id) for r in moved.results] == [("updated", "bericht-alt")]
    assert kb.source_state("A/bericht.md") == ("bericht-alt", old.sha256)
    assert kb.source_state("bericht.md") is None
    again = ingest_files(kb, iter_files([folder]))
    assert [(r.status, r.doc_id) for r in again.results] == [("unchanged", "bericht-alt")]
    # The old key is gone, so a namesake in another folder no longer replaces it.
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "bericht.md").write_text("# Bericht B\n\nText aus B.")
    other = ingest_files(kb, iter_files([tmp_path / "B"]))
    assert other.results[0].status == "added" and other.results[0].doc_id != "bericht-alt"
    assert kb.stats()["documents"] == 2


def test_file_name_that_is_not_utf8_is_shown_escaped(kb: KnowledgeBase, tmp_path: Path):
    name = os.fsdecode(b"bericht-\xff.txt")
    (tmp_path / name).write_text("Ein Bericht über Wasserstoff mit seltsamem Namen.")
    report = ingest_files(kb, iter_files([tmp_path]))
    (result,) = report.results
    assert result.status == "added", result.reason
    assert result.path.endswith("bericht-\\xff.txt")
    result.path.encode("utf-8")  # printable and storable
    assert result.doc_id == "bericht-xff"
    assert kb.source_state(f"{tmp_path.name}/bericht-\\xff.txt") is not None


# -- walking -----------------------------------------------------------------------------


def test_thousand_nested_folders_are_walked_without_recursion(
    kb: KnowledgeBase, tmp_path: Path, nested_folders
):
    folder = nested_folders(tmp_path / "tief", 1000)
    (folder / "unten.txt").write_text("Ganz unten liegt ein Bericht über Wasserstoff.")
    report = ingest_files(kb, iter_files([tmp_path]))
    assert [(r.status, r.doc_id) for r in report.results] == [("added", "unten")]


def test_links_leaving_the_folder_are_skipped_with_a_line(kb: KnowledgeBase, tmp_path: Path):
    outside = tmp_path / "draussen"
    outside.mkdir()
    (outside / "geheim.txt").write_text("Nicht Teil der Berichte.")
    folder = tmp_path / "berichte"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "echt.md").write_text("# Echt\n\nEin echter Bericht.")
    (folder / "geheim.txt").symlink_to(outside / "geheim.txt")
    (folder / "ordner").symlink_to(outside)
    (folder / "kopie.md").symlink_to(folder / "sub" / "echt.md")  # inside: fine
    (folder / "sub2").symlink_to(folder / "sub")  # a folder inside: walked as itself
    (folder / "tot.txt").symlink_to(tmp_path / "gibt-es-nicht.txt")
    report = ingest_files(kb, iter_files([folder]))
    outcome = {Path(r.path).name: (r.status, r.code) for r in report.results}
    assert outcome == {
        "geheim.txt": ("skipped", "link_outside"),
        "ordner": ("skipped", "link_outside"),
        "kopie.md": ("added", None),
        "echt.md": ("duplicate", None),  # the same file as the link before it
        "tot.txt": ("skipped", "link_outside"),
    }
    assert report.ok  # skipping is not failing
    skipped = {Path(r.path).name: r.reason for r in report.results if r.status == "skipped"}
    assert skipped["geheim.txt"] == (
        f"symbolic link leads outside the folder (to {outside / 'geheim.txt'}); not followed"
    )
    assert "3 skipped" in report.summary()


def test_unreadable_subfolder_is_one_failed_line(
    kb: KnowledgeBase, reports: Path, monkeypatch: pytest.MonkeyPatch
):
    locked = reports / "gesperrt"
    locked.mkdir()
    (locked / "x.md").write_text("# X\n\nText.")
    real_scandir = os.scandir

    def scandir(path):  # the tests run as root, for whom chmod 000 changes nothing
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(ingest.pipeline.os, "scandir", scandir)
    report = ingest_files(kb, iter_files([reports]))
    (failed,) = report.failed
    assert failed.path == str(locked)
    assert failed.reason == "cannot read folder (permission denied)"
    assert failed.german == "Ordner nicht lesbar (keine Berechtigung)"
    assert report.count("added") == 4 and not report.ok


def test_an_unexpected_error_costs_one_file_not_the_run(
    kb: KnowledgeBase, reports: Path, monkeypatch: pytest.MonkeyPatch
):
    real_chunk = ingest.pipeline.chunk_document

    def chunk_document(text, pages, **kwargs):
        if "Kunststoffe" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real_chunk(text, pages, **kwargs)

    monkeypatch.setattr(ingest.pipeline, "chunk_document", chunk_document)
    report = ingest_files(kb, iter_files([reports]))
    (failed,) = report.failed
    assert Path(failed.path).name == "kreislauf.md"
    assert failed.code == "internal_error"
    assert failed.reason == "unexpected error (RecursionError: maximum recursion depth exceeded)"
    assert report.count("added") == 3
    assert kb.stats()["documents"] == 3


def test_prune_removes_only_reports_whose_files_vanished(kb: KnowledgeBase, tmp_path: Path):
    from ingest.pipeline import prune

    folder = tmp_path / "berichte"
    folder.mkdir()
    for name in ("bleibt", "geht", "kaputt"):
        (folder / f"{name}.md").write_text(f"# {name}\n\nEin Bericht namens {name} über Recycling.")
    (folder / "kopie.md").write_text((folder / "geht.md").read_text())  # same file: an alias
    elsewhere = tmp_path / "anderswo"
    elsewhere.mkdir()
    (elsewhere / "fremd.md").write_text("# Fremd\n\nEin Bericht aus einem anderen Ordner.")
    assert ingest_files(kb, iter_files([folder, elsewhere])).ok
    (folder / "geht.md").unlink()
    assert prune(kb, [folder], list(iter_files([folder]))) == []  # its alias is still there
    (folder / "kopie.md").unlink()
    (folder / "kaputt.md").write_bytes(b"\x00\x01")  # unreadable now, but not gone
    seen = list(iter_files([folder]))
    assert prune(kb, [folder], seen, actor="cli:test") == ["geht"]
    assert sorted(kb.sources()) == ["bleibt", "fremd", "kaputt"]
    assert kb.changes(0, 1)[1][0]["actor"] == "cli:test"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("bericht.pdf", "bericht.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\amt\\Bericht 2024.docx", "Bericht 2024.docx"),
        ("ber\x00icht\u200b.pdf", "bericht.pdf"),
        ("  Forum\u00a0\u00a0Wasserstoff .md ", "Forum Wasserstoff .md"),
        (".versteckt.txt", "versteckt.txt"),
        ("../..", "datei"),
        ("", "datei"),
        ("ü" * 300 + ".pdf", "ü" * 116 + ".pdf"),
        ("x." + "y" * 40, "x." + "y" * 40),
    ],
)
def test_safe_filename_keeps_a_printable_last_component(sent: str, shown: str):
    assert safe_filename(sent) == shown
    assert "/" not in safe_filename(sent) and len(safe_filename(sent)) <= MAX_NAME_CHARS
    assert upload_source(sent) == f"upload:{shown}"


def test_overrides_replace_extracted_metadata(kb: KnowledgeBase, reports: Path):
    data = (reports / "wasserstoff-forum.md").read_bytes()
    result = ingest_bytes(
        kb,
        data,
        "wasserstoff-forum.md",
        upload_source("wasserstoff-forum.md"),
        overrides={"title": "Korrigiert", "topics": ["Elektrolyse"]},
        actor="amt",
    )
    assert result.status == "added"
    doc = kb.get_document(result.doc_id)
    assert (doc["title"], doc["topics"], doc["event"]) == (
        "Korrigiert",
        ["Elektrolyse"],
        "Forum Wasserstoff",  # not overridden: from the front matter
    )
    assert kb.changes(0, 1)[1][0]["actor"] == "amt"


def test_replacing_a_reports_file_keeps_its_id_and_source(kb: KnowledgeBase, reports: Path):
    first = ingest_bytes(kb, (reports / "kreislauf.md").read_bytes(), "kreislauf.md", "ordner/k.md")
    new = (reports / "digitalisierung.txt").read_bytes()
    replaced = ingest_bytes(kb, new, "neu.txt", "ordner/k.md", replaces=first.doc_id, actor="amt")
    assert (replaced.status, replaced.doc_id) == ("updated", first.doc_id)
    doc = kb.get_document(first.doc_id)
    assert (doc["format"], doc["source"], doc["filename"]) == ("txt", "ordner/k.md", "neu.txt")
    assert doc["title"] == "Digitalisierung in der Produktion"
    again = ingest_bytes(kb, new, "neu.txt", "ordner/k.md", replaces=first.doc_id)
    assert again.status == "unchanged"
    assert kb.stats()["documents"] == 1


def test_a_folder_named_upload_never_shares_a_key_with_an_upload(
    kb: KnowledgeBase, tmp_path: Path, reports: Path
):
    from ingest.pipeline import prune

    uploaded = ingest_bytes(
        kb, (reports / "kreislauf.md").read_bytes(), "bericht.md", upload_source("bericht.md")
    )
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "bericht.md").write_bytes((reports / "fachkraefte-treffen.md").read_bytes())
    report = ingest_files(kb, iter_files([folder]))
    assert [r.status for r in report.results] == ["added"]
    assert report.results[0].doc_id != uploaded.doc_id
    (folder / "bericht.md").unlink()
    assert prune(kb, [folder], list(iter_files([folder]))) == [report.results[0].doc_id]
    assert kb.get_document(uploaded.doc_id)["source"] == "upload:bericht.md"
