"""The write API of reports: upload, correct, replace, delete, the original file and the
change log, with real PDFs and DOCX files made here. Every status code the issue names."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import docx
import pytest

from tests.api.conftest import Curation
from tests.api.files import (
    TOPICS,
    encrypted_pdf,
    paragraph,
    report_docx,
    report_pdf,
    scanned_pdf,
)
from tests.ingest.formats.samples import make_pdf, zip_bomb_docx


def index_state(curation: Curation) -> dict:
    """Everything a failed write must leave alone: the store's generation, the counts,
    the change log, and every file of the index folder but the lock."""
    kb = curation.kb
    stats = kb.stats()
    folder = Path(kb.folder)
    files = sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.name != "write.lock" and not p.name.endswith(("-wal", "-shm"))
    )
    return {
        "generation": stats["generation"],
        "documents": stats["documents"],
        "chunks": stats["chunks"],
        "vectors": stats["vectors"],
        "changes": kb.changes(0, 1)[0],
        "files": files,
    }


def search_ids(curation: Curation, query: str) -> list[str]:
    answer = curation.client.get("/api/v1/search", params={"q": query, "k": 20})
    assert answer.status_code == 200
    return [hit["id"] for hit in answer.json()["results"]]


# --------------------------------------------------------------------------- POST


def test_upload_adds_reports_with_201_location_and_metadata_overrides(curation: Curation):
    pdf = report_pdf("Wasserstofftag", pages=3, marker="Elektrolyseurpark")
    docx = report_docx("Fachkräftetreffen", marker="Azubibotschafter")
    answer = curation.upload(
        ("wasserstofftag-2024.pdf", pdf),
        ("fachkraefte.docx", docx),
        date="2024-05-16",
        event="Forum Wasserstoff",
        topics="Wasserstoff, Energie",
    )
    assert answer.status_code == 201, answer.text
    files = answer.json()["files"]
    assert [(f["filename"], f["status"]) for f in files] == [
        ("wasserstofftag-2024.pdf", "added"),
        ("fachkraefte.docx", "added"),
    ]
    first = files[0]["id"]
    assert answer.headers["location"] == f"/api/v1/documents/{first}"
    doc = curation.client.get(answer.headers["location"]).json()
    assert (doc["date"], doc["event"], doc["topics"]) == (
        "2024-05-16",
        "Forum Wasserstoff",
        ["Wasserstoff", "Energie"],
    )
    assert (doc["format"], doc["pages"], doc["source"]) == (
        "pdf",
        3,
        "upload:wasserstofftag-2024.pdf",
    )
    assert doc["title"] == "Wasserstofftag"  # not overridden: from the PDF's properties
    assert first in search_ids(curation, "Elektrolyseurpark")
    assert files[1]["id"] in search_ids(curation, "Azubibotschafter")
    log = curation.client.get("/api/v1/changes").json()["changes"]
    assert [(c["actor"], c["action"]) for c in log[:2]] == [
        ("geschaeftsstelle", "added"),
        ("geschaeftsstelle", "added"),
    ]


def test_same_bytes_again_are_unchanged_and_another_name_is_a_duplicate(curation: Curation):
    pdf = report_pdf("Wasserstofftag", pages=2)
    first = curation.upload(("bericht.pdf", pdf)).json()["files"][0]
    before = index_state(curation)
    again = curation.upload(("bericht.pdf", pdf))
    assert again.status_code == 200
    assert again.json()["files"][0] | {"near_duplicates": []} == {
        "filename": "bericht.pdf",
        "status": "unchanged",
        "id": first["id"],
        "duplicate_of": None,
        "near_duplicates": [],
        "code": None,
        "reason": None,
        "reason_de": None,
    }
    assert index_state(curation) == before  # not a second report, not even a log entry
    copy = curation.upload(("kopie-vom-bericht.pdf", pdf))
    assert copy.status_code == 200
    outcome = copy.json()["files"][0]
    assert (outcome["status"], outcome["duplicate_of"]) == ("duplicate", first["id"])
    assert curation.kb.stats()["documents"] == before["documents"]
    assert "upload:kopie-vom-bericht.pdf" in curation.kb.sources()[first["id"]]


def test_a_new_version_under_the_same_name_is_updated(curation: Curation):
    first = curation.upload(("bericht.pdf", report_pdf("Fassung eins", marker="Altfassung")))
    doc_id = first.json()["files"][0]["id"]
    second = curation.upload(("bericht.pdf", report_pdf("Fassung zwei", marker="Neufassung")))
    assert second.status_code == 200
    assert second.json()["files"][0]["status"] == "updated"
    assert second.json()["files"][0]["id"] == doc_id
    assert doc_id in search_ids(curation, "Neufassung")
    assert doc_id not in search_ids(curation, "Altfassung")


def test_the_same_report_as_pdf_and_docx_is_added_and_flagged_both_ways(curation: Curation):
    paragraphs = [paragraph(TOPICS[n % 10], n) for n in range(6)]
    pdf = bytes(make_pdf([[("p", p) for p in paragraphs]], footer=False).output())
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    path = curation.settings.index.parent / "same.docx"
    document.save(path)
    first = curation.upload(("jahresbericht.pdf", pdf)).json()["files"][0]
    second = curation.upload(("jahresbericht.docx", path.read_bytes()))
    assert second.status_code == 201
    outcome = second.json()["files"][0]
    assert outcome["status"] == "added" and outcome["near_duplicates"] == [first["id"]]
    listed = {
        d["id"]: d["near_duplicates"]
        for d in curation.client.get("/api/v1/documents").json()["documents"]
    }
    assert listed[first["id"]] == [outcome["id"]] and listed[outcome["id"]] == [first["id"]]


@pytest.mark.parametrize(
    ("name", "data", "status", "code", "german"),
    [
        ("bericht.txt", report_pdf(pages=1), 415, "type_mismatch", "Inhalt ist aber ein PDF"),
        ("bericht.pdf", report_docx(), 415, "type_mismatch", "Word-Dokument"),
        ("programm.exe", b"MZ\x90\x00" + bytes(200), 415, "unsupported_type", "nicht unterstützt"),
        ("archiv.zip", b"PK\x05\x06" + bytes(18), 415, "unsupported_type", "nicht unterstützt"),
        ("geheim.pdf", encrypted_pdf(), 422, "encrypted", "kennwortgeschützt"),
        ("scan.pdf", scanned_pdf(), 422, "no_text", "kein Text"),
        ("kaputt.pdf", report_pdf(pages=1)[:300], 422, "damaged", "beschädigt"),
        ("leer.txt", b"   \n", 422, "empty", "leer"),
        ("bombe.docx", zip_bomb_docx(), 422, "archive_too_large", "ZIP-Bombe"),
    ],
)
def test_a_file_that_cannot_be_ingested_is_refused_and_changes_nothing(
    curation: Curation, name: str, data: bytes, status: int, code: str, german: str
):
    before = index_state(curation)
    answer = curation.upload((name, data))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == code
    (outcome,) = problem["files"]
    assert (outcome["filename"], outcome["status"], outcome["code"]) == (name, "failed", code)
    assert outcome["reason"] and german.lower() in outcome["reason_de"].lower()
    assert index_state(curation) == before


def test_a_mixed_upload_adds_the_good_file_and_reports_the_bad_one(curation: Curation):
    before = index_state(curation)
    answer = curation.upload(
        ("gut.pdf", report_pdf(marker="Gutbericht")), ("scan.pdf", scanned_pdf())
    )
    assert answer.status_code == 201
    good, bad = answer.json()["files"]
    assert good["status"] == "added" and (bad["status"], bad["code"]) == ("failed", "no_text")
    assert curation.kb.stats()["documents"] == before["documents"] + 1


def test_failures_of_different_kinds_together_are_a_422_listing_each(curation: Curation):
    answer = curation.upload(("x.txt", report_pdf(pages=1)), ("scan.pdf", scanned_pdf()))
    assert answer.status_code == 422
    assert answer.json()["code"] == "upload_failed"
    assert [f["code"] for f in answer.json()["files"]] == ["type_mismatch", "no_text"]


def test_zip_bomb_upload_is_refused_with_bounded_memory(curation: Curation):
    import tracemalloc

    bomb = zip_bomb_docx()  # ~1 MB on the wire, 1 GiB unpacked
    tracemalloc.start()
    try:
        answer = curation.upload(("bombe.docx", bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 422 and answer.json()["code"] == "archive_too_large"
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
        ("/absolut/bericht.pdf", "bericht.pdf"),
        ("a" * 1000 + ".pdf", "a" * 116 + ".pdf"),
        ("..", "datei"),
    ],
)
def test_hostile_file_names_are_only_shown_never_used_as_paths(
    curation: Curation, tmp_path: Path, sent: str, shown: str
):
    outside = sorted(p for p in tmp_path.rglob("*") if "index" not in p.parts)
    data = report_pdf(pages=1)
    answer = curation.upload((sent, data))
    assert answer.status_code in (201, 415), answer.text
    (outcome,) = answer.json()["files"]
    assert outcome["filename"] == shown
    assert sorted(p for p in tmp_path.rglob("*") if "index" not in p.parts) == outside
    if answer.status_code == 201:
        sha = hashlib.sha256(data).hexdigest()
        kept = curation.kb.folder / "originals" / sha[:2] / sha
        assert kept.read_bytes() == data
        doc = curation.client.get(answer.headers["location"]).json()
        assert doc["source"] == f"upload:{shown}" and doc["filename"] == shown
        for path in curation.kb.folder.rglob("*"):
            assert "passwd" not in path.name and "win.ini" not in path.name
            assert os.path.realpath(path).startswith(os.path.realpath(curation.kb.folder))
    else:  # ".." has no suffix left: refused by type, nothing written
        assert outcome["code"] == "unsupported_type"


def multipart(filename: bytes, data: bytes, boundary: bytes = b"grenze") -> bytes:
    """A multipart body with one file whose name is sent as these raw bytes."""
    return (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="files"; filename="'
        + filename
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + data
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )


def test_nul_bytes_and_control_characters_in_a_file_name_are_dropped(curation: Curation):
    data = report_pdf(pages=1)
    answer = curation.client.post(
        "/api/v1/documents",
        content=multipart(b"../ber\x00icht\x01\x1b[31m.pdf", data),
        headers={**curation.curator, "Content-Type": "multipart/form-data; boundary=grenze"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["files"][0]["filename"] == "bericht[31m.pdf"
    assert curation.kb.original(answer.json()["files"][0]["id"])[0].read_bytes() == data


def test_a_file_name_longer_than_a_part_header_may_be_is_a_400(curation: Curation):
    before = index_state(curation)
    answer = curation.upload(("a" * 10_000 + ".pdf", report_pdf(pages=1)))
    assert answer.status_code == 400 and answer.json()["code"] == "malformed_body"
    assert index_state(curation) == before


def test_upload_without_files_or_with_a_bad_field_is_a_422(curation: Curation):
    before = index_state(curation)
    none = curation.client.post(
        "/api/v1/documents",
        data={"title": "x"},
        files={"leer": ("", b"")},
        headers=curation.curator,
    )
    assert none.status_code == 422 and none.json()["code"] == "invalid_request"
    bad_date = curation.upload(("b.pdf", report_pdf(pages=1)), date="30.11.2021")
    assert bad_date.status_code == 422 and bad_date.json()["code"] == "invalid_field"
    typo = curation.upload(("b.pdf", report_pdf(pages=1)), titel="Tippfehler")
    assert typo.status_code == 422 and typo.json()["errors"][0]["name"] == "titel"
    assert index_state(curation) == before


def test_a_body_that_is_no_form_is_a_415(curation: Curation):
    answer = curation.client.post(
        "/api/v1/documents",
        content=report_pdf(pages=1),
        headers={**curation.curator, "Content-Type": "application/pdf"},
    )
    assert answer.status_code == 415 and answer.json()["code"] == "unsupported_media_type"


def test_a_malformed_multipart_body_is_a_400(curation: Curation):
    answer = curation.client.post(
        "/api/v1/documents",
        content=b"--grenze\r\nContent-Disposition: form-data\r\n\r\nx\r\n--grenze--\r\n",
        headers={**curation.curator, "Content-Type": "multipart/form-data; boundary=grenze"},
    )
    assert answer.status_code == 400 and answer.json()["code"] == "malformed_body"


# --------------------------------------------------------------------------- PATCH


def test_patch_changes_what_search_finds_without_reembedding(curation: Curation):
    added = curation.upload(("bericht.pdf", report_pdf("Wasserstofftag", marker="Pipeline")))
    doc_id = added.json()["files"][0]["id"]
    chunks_before = (
        curation.kb.index.current()
        .store.conn.execute("SELECT id, vector FROM chunks WHERE doc_id = ?", (doc_id,))
        .fetchall()
    )
    assert doc_id not in search_ids(curation, "Zauberflöte")
    answer = curation.client.patch(
        f"/api/v1/documents/{doc_id}",
        json={"title": "Zauberflöte im Industriepark", "topics": ["Kultur"]},
        headers=curation.curator,
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["title"], answer.json()["topics"]) == (
        "Zauberflöte im Industriepark",
        ["Kultur"],
    )
    hits = curation.client.get("/api/v1/search", params={"q": "Zauberflöte"}).json()["results"]
    assert hits[0]["id"] == doc_id and hits[0]["title"] == "Zauberflöte im Industriepark"
    chunks_after = (
        curation.kb.index.current()
        .store.conn.execute("SELECT id, vector FROM chunks WHERE doc_id = ?", (doc_id,))
        .fetchall()
    )
    assert [tuple(r) for r in chunks_after] == [tuple(r) for r in chunks_before]
    (change,) = curation.client.get("/api/v1/changes", params={"limit": 1}).json()["changes"]
    assert (change["action"], change["actor"], change["doc_id"]) == (
        "edited",
        "geschaeftsstelle",
        doc_id,
    )
    assert change["before"]["title"] == "Wasserstofftag"
    assert change["after"]["title"] == "Zauberflöte im Industriepark"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": ""}, "invalid_field"),
        ({"title": None}, "invalid_field"),
        ({"date": "2021-02-30"}, "invalid_field"),
        ({"farbe": "blau"}, "invalid_request"),
        ({"topics": "Wasserstoff"}, "invalid_request"),
        ({"title": "x" * 501}, "invalid_request"),
    ],
)
def test_patch_refuses_bad_fields_and_changes_nothing(curation: Curation, body, code):
    before = index_state(curation)
    answer = curation.client.patch(
        "/api/v1/documents/wasserstoff-forum", json=body, headers=curation.curator
    )
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert index_state(curation) == before


def test_patch_of_nothing_or_the_same_values_writes_nothing(curation: Curation):
    before = index_state(curation)
    for body in ({}, {"title": "Wasserstoff für die Region"}):
        answer = curation.client.patch(
            "/api/v1/documents/wasserstoff-forum", json=body, headers=curation.curator
        )
        assert answer.status_code == 200 and answer.json()["title"] == "Wasserstoff für die Region"
    assert index_state(curation) == before


def test_patch_put_delete_and_file_of_a_missing_report_are_404(curation: Curation):
    h = curation.curator
    assert curation.client.patch("/api/v1/documents/fehlt", json={}, headers=h).status_code == 404
    put = curation.client.put(
        "/api/v1/documents/fehlt/file", files={"file": ("a.pdf", report_pdf())}, headers=h
    )
    assert put.status_code == 404 and put.json()["code"] == "document_not_found"
    assert curation.client.delete("/api/v1/documents/fehlt", headers=h).status_code == 404
    missing = curation.client.get("/api/v1/documents/fehlt/file")
    assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"


# --------------------------------------------------------------------------- PUT file


def test_put_replaces_the_file_and_keeps_id_and_source(curation: Curation):
    added = curation.upload(("bericht.pdf", report_pdf("Erste Fassung", marker="Vorentwurf")))
    doc_id = added.json()["files"][0]["id"]
    new = report_docx("Zweite Fassung", marker="Endfassung")
    answer = curation.client.put(
        f"/api/v1/documents/{doc_id}/file",
        files={"file": ("zweite.docx", new)},
        headers=curation.curator,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["files"][0] | {"near_duplicates": []} == {
        "filename": "zweite.docx",
        "status": "updated",
        "id": doc_id,
        "duplicate_of": None,
        "near_duplicates": [],
        "code": None,
        "reason": None,
        "reason_de": None,
    }
    doc = curation.client.get(f"/api/v1/documents/{doc_id}").json()
    assert (doc["format"], doc["title"], doc["source"]) == (
        "docx",
        "Zweite Fassung",
        "upload:bericht.pdf",
    )
    assert search_ids(curation, "Endfassung")[0] == doc_id
    assert doc_id not in search_ids(curation, "Vorentwurf")
    file = curation.client.get(f"/api/v1/documents/{doc_id}/file")
    assert file.content == new and "zweite.docx" in file.headers["content-disposition"]
    again = curation.client.put(
        f"/api/v1/documents/{doc_id}/file",
        files={"file": ("z.docx", new)},
        headers=curation.curator,
    )
    assert again.json()["files"][0]["status"] == "unchanged"


def test_put_with_an_unreadable_file_keeps_the_old_one(curation: Curation):
    added = curation.upload(("bericht.pdf", report_pdf(marker="Bleibtbestehen")))
    doc_id = added.json()["files"][0]["id"]
    before = index_state(curation)
    for name, data, status in (
        ("neu.pdf", encrypted_pdf(), 422),
        ("neu.txt", report_pdf(pages=1), 415),
    ):
        answer = curation.client.put(
            f"/api/v1/documents/{doc_id}/file",
            files={"file": (name, data)},
            headers=curation.curator,
        )
        assert answer.status_code == status
    two = curation.client.put(
        f"/api/v1/documents/{doc_id}/file",
        files=[("file", ("a.pdf", report_pdf())), ("file", ("b.pdf", report_pdf()))],
        headers=curation.curator,
    )
    assert two.status_code == 413 and two.json()["code"] == "too_many_files"
    assert index_state(curation) == before
    assert search_ids(curation, "Bleibtbestehen")[0] == doc_id


# --------------------------------------------------------------------------- GET file, DELETE


def test_original_file_is_served_as_uploaded_and_pdf_hits_link_to_their_page(curation: Curation):
    pdf = report_pdf("Wasserstofftag", pages=4, marker="Seitenvierwort")
    doc_id = curation.upload(("bericht.pdf", pdf)).json()["files"][0]["id"]
    file = curation.client.get(f"/api/v1/documents/{doc_id}/file")
    assert file.status_code == 200 and file.content == pdf
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"] == 'inline; filename="bericht.pdf"'
    hit = curation.client.get("/api/v1/search", params={"q": "Seitenvierwort"}).json()["results"][0]
    assert hit["id"] == doc_id and hit["page"] == 4
    assert hit["file_url"] == f"/api/v1/documents/{doc_id}/file#page=4"
    # other formats link to the file without a page; it downloads
    hits = curation.client.get("/api/v1/search", params={"q": "Kunststoffe"}).json()["results"]
    markdown = next(h for h in hits if h["id"] == "kreislauf")
    assert markdown["file_url"] == "/api/v1/documents/kreislauf/file"
    file = curation.client.get(markdown["file_url"])
    assert file.headers["content-type"] == "text/markdown; charset=utf-8"
    assert file.headers["content-disposition"] == 'attachment; filename="kreislauf.md"'
    assert file.text.startswith("---\ntitle: Kreislaufwirtschaft")


def test_delete_is_204_gone_from_search_and_logged(curation: Curation):
    doc_id = curation.upload(("bericht.pdf", report_pdf(marker="Loeschkandidat"))).json()["files"][
        0
    ]["id"]
    assert search_ids(curation, "Loeschkandidat") == [doc_id]
    path = curation.kb.original(doc_id)[0]
    answer = curation.client.delete(f"/api/v1/documents/{doc_id}", headers=curation.curator)
    assert answer.status_code == 204 and answer.content == b""
    assert doc_id not in search_ids(curation, "Loeschkandidat")
    assert curation.client.get(f"/api/v1/documents/{doc_id}").status_code == 404
    assert curation.client.get(f"/api/v1/documents/{doc_id}/file").status_code == 404
    assert not path.exists()
    change = curation.client.get("/api/v1/changes").json()["changes"][0]
    assert (change["action"], change["doc_id"], change["after"]) == ("removed", doc_id, None)
    assert change["before"]["filename"] == "bericht.pdf"


def test_lifecycle_upload_search_patch_search_delete_gone(curation: Curation):
    pdf = report_pdf("Netzwerktreffen Emsland", pages=2, marker="Lebenszyklus")
    answer = curation.upload(("lebenszyklus.pdf", pdf))
    assert answer.status_code == 201
    doc_id = answer.json()["files"][0]["id"]
    hits = curation.client.get("/api/v1/search", params={"q": "Lebenszyklus"}).json()["results"]
    assert hits[0]["id"] == doc_id and hits[0]["title"] == "Netzwerktreffen Emsland"
    patched = curation.client.patch(
        f"/api/v1/documents/{doc_id}", json={"title": "Neuer Titel"}, headers=curation.curator
    )
    assert patched.status_code == 200
    hits = curation.client.get("/api/v1/search", params={"q": "Lebenszyklus"}).json()["results"]
    assert hits[0]["id"] == doc_id and hits[0]["title"] == "Neuer Titel"
    assert (
        curation.client.delete(f"/api/v1/documents/{doc_id}", headers=curation.curator).status_code
        == 204
    )
    assert doc_id not in search_ids(curation, "Lebenszyklus")
    actions = [c["action"] for c in curation.client.get("/api/v1/changes").json()["changes"][:3]]
    assert actions == ["removed", "edited", "added"]


def test_changes_are_paged_newest_first(curation: Curation):
    total = curation.client.get("/api/v1/changes").json()["total"]
    assert total == 4  # the four reports of the fixture
    curation.upload(("a.pdf", report_pdf("A")))
    page = curation.client.get("/api/v1/changes", params={"offset": 1, "limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 2)
    ids = [c["id"] for c in page["changes"]]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True)
    newest = curation.client.get("/api/v1/changes", params={"limit": 1}).json()["changes"][0]
    assert newest["id"] > ids[0] and newest["action"] == "added"


def test_document_list_filters_by_text_year_and_topic(curation: Curation):
    listing = curation.client.get
    assert listing("/api/v1/documents").json()["total"] == 4
    by_text = listing("/api/v1/documents", params={"q": "FACHKRÄFTE"}).json()
    assert [d["id"] for d in by_text["documents"]] == ["fachkraefte-treffen"]
    by_year = listing("/api/v1/documents", params={"year": 2021}).json()
    assert [d["id"] for d in by_year["documents"]] == ["wasserstoff-forum"]
    by_topic = listing("/api/v1/documents", params={"topic": "nachhaltigkeit"}).json()
    assert [d["id"] for d in by_topic["documents"]] == ["kreislauf"]
    assert by_topic["total"] == 1
    none = listing("/api/v1/documents", params={"q": "100%_"}).json()
    assert none["total"] == 0 and none["documents"] == []
    row = listing("/api/v1/documents", params={"q": "kreislauf"}).json()["documents"][0]
    assert row["last_change"] and row["near_duplicates"] == []


def test_a_busy_index_is_a_503_with_retry_after_and_nothing_written(filled_index):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from search.kb import KnowledgeBase
    from search.locking import WriteLock

    settings = filled_index.model_copy(update={"write_timeout": 0.3})
    kb = KnowledgeBase.open(settings)
    auth = {"Authorization": f"Bearer {kb.create_key('amt', 'curator')}"}
    kb.close()
    with TestClient(create_app(settings)) as client:
        generation = client.app.state.kb.stats()["generation"]
        with WriteLock(settings.index, timeout=1, what="ein anderer Schreiber").hold():
            upload = client.post(
                "/api/v1/documents", files={"files": ("a.pdf", report_pdf())}, headers=auth
            )
            patch = client.patch("/api/v1/documents/kreislauf", json={"title": "Neu"}, headers=auth)
            delete = client.delete("/api/v1/documents/kreislauf", headers=auth)
        assert upload.status_code == 503 and upload.headers["retry-after"] == "5"
        assert upload.json()["code"] == "index_busy"
        assert upload.json()["files"][0]["status"] == "failed"
        for answer in (patch, delete):
            assert answer.status_code == 503 and answer.json()["code"] == "index_busy"
        assert client.app.state.kb.stats()["generation"] == generation
        again = client.post(
            "/api/v1/documents", files={"files": ("a.pdf", report_pdf())}, headers=auth
        )
        assert again.status_code == 201
