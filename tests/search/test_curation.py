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
