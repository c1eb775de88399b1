"""Curation in the core: metadata corrections, the change log, API keys, kept originals
and duplicates."""

from __future__ import annotations

import hashlib

import pytest

from search import duplicates
from search.errors import DocumentNotFound, InvalidDocument, KBError
from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument

TEXT = (
    "Beim Forum stellte die Initiative ihre Wasserstoffstrategie vor. Elektrolyseure sollen "
    "ab 2025 grünen Wasserstoff für die Chemieindustrie und den Verkehr liefern. Die "
    "Unternehmen diskutierten, wie Wasserstoff über Pipelines in die Region kommt."
)


def _doc(source: str, text: str, data: bytes | None = None, title: str = "Forum") -> NewDocument:
    sha = hashlib.sha256(data if data is not None else text.encode()).hexdigest()
    return NewDocument(source=source, sha256=sha, text=text, chunks=[Chunk(text, 0)], title=title)


def test_a_corrected_title_changes_what_search_finds_without_reembedding(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", TEXT, title="Forum"))
    kb.add_document("b", _doc("b.md", "Fachkräfte und Ausbildung im Mittelstand."))
    vectors_before = kb.index.current().store.conn.execute("SELECT vector FROM chunks").fetchall()
    assert kb.search("Kreislaufwirtschaft", ranking="lexical").results == []
    after = kb.update_metadata(
        "a", {"title": "Kreislaufwirtschaft", "topics": ["Recycling"]}, actor="amt"
    )
    assert (after["title"], after["topics"]) == ("Kreislaufwirtschaft", ["Recycling"])
    hits = kb.search("Kreislaufwirtschaft", ranking="lexical").results
    assert [h.id for h in hits] == ["a"] and hits[0].title == "Kreislaufwirtschaft"
    store = kb.index.current().store
    assert store.conn.execute("SELECT vector FROM chunks").fetchall() == vectors_before
    assert kb.stats()["vectors"] == 2


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"title": ""}, "title"),
        ({"date": "30.11.2021"}, "date"),
        ({"date": "2021-02-30"}, "date"),
        ({"topics": "Wasserstoff"}, "topics"),
        ({"colour": "blau"}, "unknown field"),
        ({"event": 42}, "event"),
    ],
)
def test_bad_metadata_is_refused_and_changes_nothing(kb: KnowledgeBase, values, fragment):
    kb.add_document("a", _doc("a.md", TEXT))
    with pytest.raises(InvalidDocument, match=fragment):
        kb.update_metadata("a", values, actor="amt")
    assert kb.get_document("a")["title"] == "Forum"
    with pytest.raises(DocumentNotFound):
        kb.update_metadata("fehlt", {"title": "x"}, actor="amt")


def test_every_change_is_logged_with_who_what_and_before_after(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", TEXT), actor="cli:anna")
    kb.update_metadata("a", {"event": "Wasserstoff-Forum"}, actor="amt")
    kb.remove_document("a", actor="amt")
    total, log = kb.changes(0, 10)
    assert total == 3
    assert [(c["action"], c["actor"]) for c in log] == [
        ("removed", "amt"),
        ("edited", "amt"),
        ("added", "cli:anna"),
    ]
    assert log[1]["before"]["event"] is None and log[1]["after"]["event"] == "Wasserstoff-Forum"
    assert log[0]["after"] is None and log[2]["before"] is None
    assert kb.changes(1, 1)[1][0]["action"] == "edited"  # paging


def test_keys_are_stored_as_hashes_checked_and_revoked(kb: KnowledgeBase):
    key = kb.create_key("amt", "curator")
    reader = kb.create_key("portal", "reader")
    conn = kb.index.current().store.conn
    stored = [r[0] for r in conn.execute("SELECT hash FROM api_keys")]
    assert key not in stored and hashlib.sha256(key.encode()).hexdigest() in stored
    assert kb.verify_key(key).role == "curator" and kb.verify_key(reader).role == "reader"
    assert kb.verify_key(key + "x") is None and kb.verify_key("") is None
    with pytest.raises(KBError, match="exists"):
        kb.create_key("amt", "reader")
    kb.revoke_key("amt")
    assert kb.verify_key(key) is None
    assert [(k.name, k.revoked_at is not None) for k in kb.list_keys()] == [
        ("amt", True),
        ("portal", False),
    ]
    with pytest.raises(KBError, match="role"):
        kb.create_key("x", "admin")
    with pytest.raises(KBError, match="name"):
        kb.create_key("../etc", "reader")


def test_originals_are_kept_by_content_and_dropped_when_unused(kb: KnowledgeBase):
    data = TEXT.encode()
    written = kb.add_document("a", _doc("a.md", TEXT, data), original=data, filename="a.md")
    path, name, _ = kb.original(written.doc_id)
    sha = hashlib.sha256(data).hexdigest()
    assert path == kb.folder / "originals" / sha[:2] / sha and path.read_bytes() == data
    assert name == "a.md"
    kb.remove_document("a")
    assert not path.exists()
    kb.add_document("b", _doc("b.md", "ohne Datei"))
    with pytest.raises(DocumentNotFound, match="original"):
        kb.original("b")


def test_the_same_file_under_another_name_is_one_report(kb: KnowledgeBase):
    data = TEXT.encode()
    first = kb.add_document("a", _doc("ordner/a.md", TEXT, data), original=data)
    again = kb.add_document("kopie", _doc("anderswo/kopie.md", TEXT, data), original=data)
    assert (again.status, again.duplicate_of) == ("duplicate", first.doc_id)
    assert kb.stats()["documents"] == 1
    assert kb.source_state("anderswo/kopie.md") == ("a", hashlib.sha256(data).hexdigest())
    assert kb.changes(0, 1)[1][0]["action"] == "alias"


def test_near_duplicate_texts_are_flagged_both_ways(kb: KnowledgeBase):
    long_text = " ".join([TEXT] * 4)
    kb.add_document("pdf", _doc("bericht.pdf", long_text))
    docx = long_text.replace("Pipelines", "Leitungen", 1)  # the same report, another format
    written = kb.add_document("docx", _doc("bericht.docx", docx))
    assert (written.status, written.near_duplicates) == ("added", ["pdf"])
    assert kb.near_duplicates("pdf") == ["docx"]
    other = kb.add_document("fk", _doc("fk.md", "Fachkräfte und Ausbildung im Mittelstand."))
    assert other.near_duplicates == [] and kb.near_duplicates("fk") == []


def test_simhash_distance_grows_with_the_difference():
    base = " ".join(f"wort{i}" for i in range(300))
    close = base.replace("wort7 ", "anders ", 1)
    far = " ".join(f"text{i}" for i in range(300))
    assert duplicates.distance(duplicates.simhash(base), duplicates.simhash(base)) == 0
    near = duplicates.distance(duplicates.simhash(base), duplicates.simhash(close))
    assert 0 < near <= duplicates.MAX_DISTANCE
    assert duplicates.distance(duplicates.simhash(base), duplicates.simhash(far)) > 16


def _listed(kb: KnowledgeBase) -> None:
    for doc_id, title, date, topics in (
        ("a", "Wasserstoff im Emsland", "2021-03-04", ["Wasserstoff", "Energie"]),
        ("b", "Fachkräfte SICHERN", "2022-05-12", ["Fachkräfte"]),
        ("c", "Ökologische Gewerbegebiete", "2022", ["Flächen", "energie"]),
        ("d", "Rabatt 100%_sicher", None, []),
    ):
        doc = _doc(f"{doc_id}.md", f"{title}. {TEXT}" if doc_id == "a" else title, title=title)
        doc.date, doc.topics = date, topics
        kb.add_document(doc_id, doc)


def test_find_documents_filters_by_text_year_and_topic_with_a_total(kb: KnowledgeBase):
    _listed(kb)
    total, rows = kb.find_documents(0, 2)
    assert total == 4 and [r["id"] for r in rows] == ["b", "c"]  # newest date first
    assert kb.find_documents(2, 10)[1][-1]["id"] == "d"  # undated last
    assert kb.find_documents(text="fachkräfte sichern")[1][0]["id"] == "b"
    assert [r["id"] for r in kb.find_documents(text="ökologisch")[1]] == ["c"]  # Unicode case
    assert [r["id"] for r in kb.find_documents(text="ÖKOLOGISCH")[1]] == ["c"]
    assert [r["id"] for r in kb.find_documents(text="100%_")[1]] == ["d"]  # no wildcards
    assert kb.find_documents(text="0%x")[0] == 0
    assert [r["id"] for r in kb.find_documents(year=2022)[1]] == ["b", "c"]
    assert [r["id"] for r in kb.find_documents(topic="ENERGIE")[1]] == ["c", "a"]
    assert kb.find_documents(year=2022, topic="energie")[0] == 1
    assert kb.topics() == ["Energie", "energie", "Fachkräfte", "Flächen", "Wasserstoff"]


def test_listed_documents_carry_their_last_change_and_near_duplicates(kb: KnowledgeBase):
    long_text = " ".join([TEXT] * 4)
    kb.add_document("pdf", _doc("bericht.pdf", long_text))
    kb.add_document("docx", _doc("bericht.docx", long_text.replace("Pipelines", "Leitungen", 1)))
    kb.add_document("fk", _doc("fk.md", "Fachkräfte und Ausbildung im Mittelstand."))
    kb.update_metadata("fk", {"event": "Treffen"}, actor="amt")
    rows = {r["id"]: r for r in kb.find_documents()[1]}
    assert rows["pdf"]["near_duplicates"] == ["docx"] and rows["docx"]["near_duplicates"] == ["pdf"]
    assert rows["fk"]["near_duplicates"] == []
    last = kb.changes(0, 1)[1][0]
    assert rows["fk"]["last_change"] == last["at"] and "simhash" not in rows["fk"]


def test_a_correction_that_changes_nothing_writes_nothing(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", TEXT, title="Forum"))
    generation = kb.stats()["generation"]
    assert kb.update_metadata("a", {}, actor="amt")["title"] == "Forum"
    assert kb.update_metadata("a", {"title": " Forum "}, actor="amt")["title"] == "Forum"
    assert kb.stats()["generation"] == generation and kb.changes(0, 1)[0] == 1


def test_an_active_key_is_found_by_name_and_creation_time(kb: KnowledgeBase):
    token = kb.create_key("amt", "curator")
    key = kb.verify_key(token)
    assert kb.active_key("amt", key.created_at) == key
    assert kb.active_key("amt", "2000-01-01T00:00:00+00:00") is None
    kb.revoke_key("amt")
    assert kb.active_key("amt", key.created_at) is None


def test_search_hits_link_to_the_original_and_a_pdf_page(kb: KnowledgeBase):
    from search.results import file_url

    data = TEXT.encode()
    kb.add_document("a", _doc("a.md", TEXT, data), fmt="md", original=data)
    kb.add_document("b", _doc("b.md", "Wasserstoff ohne Datei"))
    hits = {h.id: h for h in kb.search("Wasserstoff", ranking="lexical").results}
    assert hits["a"].file_url == "/api/v1/documents/a/file"
    assert hits["b"].file_url is None
    assert file_url("x y/z", True, "pdf", 3) == "/api/v1/documents/x%20y%2Fz/file#page=3"
    assert file_url("x", True, "docx", 3) == "/api/v1/documents/x/file"


def test_an_original_left_by_a_crash_is_swept_once_old(kb: KnowledgeBase):
    import os
    import time

    from search import originals

    data = TEXT.encode()
    kb.add_document("a", _doc("a.md", TEXT, data), original=data)
    orphan = originals.path(kb.folder, originals.keep(kb.folder, b"nie committet"))
    with kb.bulk():
        pass
    assert orphan.exists()  # young: could be another writer's file before its commit
    old = time.time() - originals.SWEEP_AFTER_SECONDS - 1
    os.utime(orphan, (old, old))
    os.utime(kb.original("a")[0], (old, old))
    with kb.bulk():
        pass
    assert not orphan.exists()
    assert kb.original("a")[0].exists()  # a named one stays, whatever its age


def test_near_duplicate_lookup_finds_every_fingerprint_within_seven_bits():
    """The banded lookup is exact: whatever bits differ, up to MAX_DISTANCE is found and
    one bit more is not."""
    import random
    import sqlite3

    rng = random.Random(7)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, simhash INTEGER)")
    conn.executescript(duplicates.SCHEMA)

    def signed(value: int) -> int:
        return value - (1 << 64) if value >= 1 << 63 else value

    base = rng.getrandbits(64)
    fingerprints, expected = {}, {}
    for distance in range(duplicates.MAX_DISTANCE + 3):
        for trial in range(12):
            bits = list(range(16, 16 + distance)) if trial == 0 else rng.sample(range(64), distance)
            value = base
            for bit in bits:  # trial 0: all in one band; the others spread at random
                value ^= 1 << bit
            fingerprints[f"d{distance}-{trial}"] = signed(value)
    fingerprints |= {f"u{i}": signed(rng.getrandbits(64)) for i in range(300)}
    cur = conn.cursor()
    for doc_id, fingerprint in fingerprints.items():
        cur.execute("INSERT INTO documents VALUES (?, ?)", (doc_id, fingerprint))
        duplicates.record(cur, doc_id, fingerprint)
        gap = duplicates.distance(signed(base), fingerprint)
        if gap <= duplicates.MAX_DISTANCE:
            expected[doc_id] = gap
    assert dict(duplicates.near(conn, signed(base))) == expected
    assert sum(d.startswith("d") for d in expected) == 12 * (duplicates.MAX_DISTANCE + 1)
