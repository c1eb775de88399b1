"""The vector mirror: readers catch up in memory and never write files; writers save
snapshots in batches; every read sees one generation."""

from __future__ import annotations

import threading
from pathlib import Path

from search import mirror as mirrors
from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument
from search.settings import Settings


def _doc(source: str, text: str) -> NewDocument:
    return NewDocument(source=source, sha256="x", text=text, chunks=[Chunk(text, 0)], title="")


def _files(folder: Path) -> dict[str, int]:
    """Every file below the index folder with its modification time (ns)."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith("kb.sqlite")  # SQLite's own WAL files
    }


def test_a_reader_follows_writes_in_memory_and_writes_no_file(settings: Settings):
    writer = KnowledgeBase.open(settings)
    with writer.bulk():
        for i in range(5):
            writer.add_document(f"d{i}", _doc(f"d{i}.md", f"Bericht Nummer {i} über Recycling"))
    reader = KnowledgeBase.open(settings, create=False)
    assert reader.stats()["vectors"] == 5
    writer.add_document("neu", _doc("neu.md", "Wasserstoff aus Elektrolyse"))
    writer.remove_document("d0")
    before = _files(settings.index)
    hits = [h.id for h in reader.search("Wasserstoff Elektrolyse", ranking="dense").results]
    assert hits[0] == "neu" and "d0" not in hits
    assert reader.stats()["vectors"] == 5
    # the reader replayed the log; lost snapshots it rebuilds, also without writing
    for path in settings.index.glob("store-*/vectors/*"):
        path.unlink()
    fresh = KnowledgeBase.open(settings, create=False)
    assert fresh.stats()["vectors"] == 5
    after = _files(settings.index)
    assert {k: v for k, v in after.items()} == {
        k: v for k, v in before.items() if "vectors/" not in k
    }
    for kb in (writer, reader, fresh):
        kb.close()


def test_snapshots_come_per_batch_and_the_log_is_pruned(settings: Settings, monkeypatch):
    kb = KnowledgeBase.open(settings)
    snapshots = lambda: sorted(p.name for p in settings.index.glob("store-*/vectors/*"))  # noqa: E731
    kb.add_document("a", _doc("a.md", "eins"))
    kb.add_document("b", _doc("b.md", "zwei"))
    assert snapshots() == []  # single writes below the threshold only log
    with kb.bulk():
        kb.add_document("c", _doc("c.md", "drei"))
        kb.add_document("d", _doc("d.md", "vier"))
        assert snapshots() == []
    assert snapshots() == ["fields.000000000004.faiss", "passages.000000000004.faiss"]
    store = kb.index.current().store
    # the log after the newest snapshot's predecessor stays (none yet: all pruned)
    assert store.log_floor() == 4
    assert store.conn.execute("SELECT COUNT(*) FROM vector_log").fetchone()[0] == 0
    # past the threshold a plain write saves too; only the newest two snapshots stay
    monkeypatch.setattr(mirrors, "MIN_UNSAVED", 1)
    monkeypatch.setattr(mirrors, "UNSAVED_SHARE", 0.0)
    kb.add_document("e", _doc("e.md", "fünf"))
    kb.add_document("f", _doc("f.md", "sechs"))
    assert len(snapshots()) == 4
    assert sorted({n.split(".")[1] for n in snapshots()}) == ["000000000005", "000000000006"]
    assert store.log_floor() == 5
    kb.close()


def test_a_read_sees_one_generation_while_another_process_writes(settings: Settings):
    reader = KnowledgeBase.open(settings)
    writer = KnowledgeBase.open(settings)
    reader.add_document("a", _doc("a.md", "Kreislaufwirtschaft"))
    with reader.index.reading() as view:
        generation = view.generation
        done = threading.Event()
        # a write by another process (instance) commits while this read is open
        threading.Thread(target=lambda: (writer.remove_document("a"), done.set())).start()
        assert done.wait(10)
        assert view.store.chunk_docs([1]) == {1: "a"}  # still the snapshot of the read
        assert view.store.generation() == generation
    assert reader.stats()["documents"] == 0
    reader.close()
    writer.close()


def test_a_read_restarts_when_the_mirror_moved_past_its_snapshot(settings: Settings):
    kb = KnowledgeBase.open(settings)
    kb.add_document("a", _doc("a.md", "eins"))
    handle = kb.index.current()
    with handle.store.read():
        old = handle.store.generation()
        # another thread writes and a search brings the shared mirror past ``old``
        thread = threading.Thread(
            target=lambda: (kb.add_document("b", _doc("b.md", "zwei")), kb.stats())
        )
        thread.start()
        thread.join(10)
        assert handle.mirror.generation == old + 1
        with handle.mirror.reading() as gen:
            assert gen == old + 1
            assert handle.store.generation() == gen  # the transaction started anew
    kb.close()


def test_owners_keep_one_string_per_document():
    from search.mirror import Owners

    owners = Owners()
    # rows as SQLite gives them: a new string object for each row
    rows = [(i, "".join(["bericht-", "7"]), i // 3, "sentence") for i in range(1, 10)]
    owners.put(rows)
    docs = {id(owners.doc[i]) for i in range(1, 10)}
    assert len(docs) == 1
    assert owners.fields([1, 9]) == {
        1: ("sentence", 0, "bericht-7"),
        9: ("sentence", 3, "bericht-7"),
    }
