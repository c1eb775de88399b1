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


def test_readers_map_snapshots_share_them_and_follow_newer_ones(settings: Settings, monkeypatch):
    from search.ann import ivf
    from search.ann.mapped import MappedIndex

    monkeypatch.setattr(ivf, "TRAIN_AT", 20)  # snapshots hold an IVF from 20 vectors on
    topics = ["Recycling", "Wasserstoff", "Fachkräfte", "Logistik", "Energie"]
    writer = KnowledgeBase.open(settings)
    with writer.bulk():
        for i in range(40):
            text = f"Bericht {i} über {topics[i % 5]} im Werk {i}"
            writer.add_document(f"d{i}", _doc(f"d{i}.md", text))
    reader = KnowledgeBase.open(settings, create=False)
    plain = KnowledgeBase.open(settings.model_copy(update={"map_vectors": False}), create=False)

    def mirror(kb: KnowledgeBase) -> mirrors.VectorMirror:
        return kb.index.current().mirror

    def top(kb: KnowledgeBase, query: str) -> list[str]:
        found = kb.search(query, k=5, ranking="dense", every_candidate=True)
        return [h.id for h in found.results]

    assert top(reader, "Wasserstoff Werk 11") == top(plain, "Wasserstoff Werk 11")
    assert all(isinstance(i, MappedIndex) for i in mirror(reader).indexes.values())
    assert not any(isinstance(i, MappedIndex) for i in mirror(plain).indexes.values())
    first = mirror(reader)._snapshot

    # changes without a new snapshot: held on top of the mapped one
    writer.add_document("neu", _doc("neu.md", "Elektrolyse von Wasserstoff im Hafen"))
    writer.remove_document("d1")
    before = _files(settings.index)
    assert top(reader, "Elektrolyse von Wasserstoff im Hafen")[0] == "neu"
    assert "d1" not in top(reader, "Bericht 1 über Wasserstoff im Werk 1")
    assert mirror(reader)._snapshot == first and len(mirror(reader).indexes["passages"].delta)
    assert _files(settings.index) == before  # a reader writes no file

    # a writer saves a newer snapshot: the reader maps that one, with nothing on top
    with writer.bulk():
        for i in range(40, 60):
            writer.add_document(f"d{i}", _doc(f"d{i}.md", f"Bericht {i} über Logistik {i}"))
    assert top(reader, "Bericht 45 über Logistik 45") == top(plain, "Bericht 45 über Logistik 45")
    moved = mirror(reader)
    assert moved._snapshot > first and moved._snapshot == moved.generation
    assert all(isinstance(i, MappedIndex) and not len(i.delta) for i in moved.indexes.values())
    assert reader.stats()["vectors"] == plain.stats()["vectors"] == 60

    # two more snapshots while the reader is idle: the one it maps is deleted (the
    # mapping stays valid) and it moves on to the newest
    for start in (60, 80):
        with writer.bulk():
            for i in range(start, start + 20):
                writer.add_document(f"d{i}", _doc(f"d{i}.md", f"Bericht {i} über Energie {i}"))
    mapped_gen = mirror(reader)._snapshot
    assert not any(f".{mapped_gen:012d}." in p.name for p in settings.index.rglob("*.faiss"))
    assert top(reader, "Bericht 85 über Energie 85") == top(plain, "Bericht 85 über Energie 85")
    assert mirror(reader)._snapshot > mapped_gen
    assert reader.stats()["vectors"] == plain.stats()["vectors"] == 100

    # once the reader writes, it holds its vectors in memory, with every vector
    reader.add_document("eigen", _doc("eigen.md", "Kreislaufwirtschaft im Betrieb"))
    assert not any(isinstance(i, MappedIndex) for i in mirror(reader).indexes.values())
    # (coded like every vector of the IVF, by a quantizer trained on 20: a rough one)
    assert top(reader, "Kreislaufwirtschaft im Betrieb") == top(
        plain, "Kreislaufwirtschaft im Betrieb"
    )
    assert len(mirror(reader).indexes["passages"]) == reader.stats()["vectors"] == 101
    assert top(reader, "Bericht 45 über Logistik 45") == top(plain, "Bericht 45 über Logistik 45")
    for kb in (writer, reader, plain):
        kb.close()


def test_owners_find_the_ids_of_documents_and_forget_dropped_ones():
    from search.mirror import Owners

    owners = Owners()
    owners.put([(i, f"doc-{i % 3}", None, None) for i in range(1, 3000)])
    assert owners.ids_of(["doc-1"]).tolist() == list(range(1, 3000, 3))
    owners.drop([1, 4, 2998])
    assert owners.ids_of(["doc-1", "doc-2"]).tolist() == [
        i for i in range(1, 3000) if i % 3 and i not in (1, 4, 2998)
    ]
    assert owners.ids_of(["unknown"]).tolist() == [] == owners.ids_of([]).tolist()
    owners.put([(4, "doc-1", None, None), (5000, "doc-0", None, None)])  # added again, grown
    assert owners.ids_of(["doc-1"]).tolist()[:2] == [4, 7]
    assert owners.ids_of(["doc-0"]).tolist()[-1] == 5000
