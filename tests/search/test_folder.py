"""Index folders: stores, the reindex switch that every process follows, and rollback of
an interrupted reindex."""

from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np

from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument
from search.settings import Settings
from search.store import SCHEMA_VERSION


def _stores(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.index.glob("store-*"))


def test_a_running_reader_follows_a_reindex_and_old_stores_go(built: Settings):
    server = KnowledgeBase.open(built)
    before = [h.id for h in server.search("Fachkräfte").results]
    other = KnowledgeBase.open(built, load_model=False, verify=False)
    assert other.reindex() == 4
    assert _stores(built) == ["store-0001", "store-0002"]  # the previous one stays a while
    assert [h.id for h in server.search("Fachkräfte").results] == before
    assert server.index.current().manifest.store == "store-0002"
    other.reindex()
    assert _stores(built) == ["store-0002", "store-0003"]
    assert server.stats()["documents"] == 4
    for kb in (server, other):
        kb.close()


def test_an_interrupted_reindex_is_rolled_back_at_the_next_open(built: Settings, caplog):
    leftover = built.index / "store-0002.building"
    leftover.mkdir()
    (leftover / "kb.sqlite").write_bytes(b"half written")
    with caplog.at_level(logging.WARNING):
        kb = KnowledgeBase.open(built)
    assert not leftover.exists()
    assert "interrupted" in caplog.text and "store-0002.building" in caplog.text
    assert kb.search("Wasserstoff").results[0].id == "wasserstoff-forum"
    kb.close()


def test_a_write_during_a_reindex_waits_and_is_not_lost(built: Settings, monkeypatch):
    reindexer = KnowledgeBase.open(built)
    started = threading.Event()
    real = reindexer.embedder.embed_passages

    def slow(texts):
        started.set()
        time.sleep(0.05)
        return real(texts)

    monkeypatch.setattr(reindexer.embedder, "embed_passages", slow)
    thread = threading.Thread(target=reindexer.reindex)
    thread.start()
    assert started.wait(10)
    writer = KnowledgeBase.open(built)
    told = []
    writer.on_wait = told.append
    text = "Kreislaufwirtschaft in der Kunststoffindustrie 2024"
    doc = NewDocument("spaet.md", "s", text, [Chunk(text, 0)], title="Spät")
    writer.add_document("spaet", doc, vectors=np.asarray(writer.embedder.embed_passages([text])))
    thread.join(30)
    assert len(told) == 1 and "held by pid" in told[0]
    assert writer.index.current().manifest.store == "store-0002"
    stats = writer.stats()
    assert (stats["documents"], stats["vectors"]) == (5, stats["chunks"])
    assert writer.get_document("spaet")["title"] == "Spät"
    for kb in (reindexer, writer):
        kb.close()


def test_an_index_of_the_first_format_still_opens(built: Settings):
    """Format 1 kept kb.sqlite in the index folder itself, with schema version 2."""
    import json
    import sqlite3

    index = built.index
    (index / "store-0001" / "kb.sqlite").rename(index / "kb.sqlite")
    for path in (index / "store-0001").rglob("*"):
        if path.is_file():
            path.unlink()
    db = sqlite3.connect(index / "kb.sqlite")
    db.execute("DROP TABLE vector_log")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    (index / "manifest.json").write_text(
        json.dumps({"embedder": "fake", "dim": 256, "vector_index": "flat", "format": 1})
    )
    kb = KnowledgeBase.open(built)
    assert kb.stats()["vectors"] == kb.stats()["chunks"] > 0
    assert kb.search("Wasserstoff").results[0].id == "wasserstoff-forum"
    kb.close()


def test_an_index_of_schema_4_gets_its_simhash_bands_anew(built: Settings):
    """Schema 4 stored eight 8-bit bands per report; opening bands them anew (four of
    16 bits) and near duplicates are found as before."""
    import sqlite3

    from search import duplicates

    path = built.index / "store-0001" / "kb.sqlite"
    db = sqlite3.connect(path)
    fingerprints = dict(db.execute("SELECT id, simhash FROM documents"))
    db.execute("DELETE FROM simhash_bands")
    for doc_id, fp in fingerprints.items():
        unsigned = fp & ((1 << 64) - 1)
        db.executemany(
            "INSERT INTO simhash_bands(band, value, doc_id) VALUES (?,?,?)",
            [(b, (unsigned >> (8 * b)) & 255, doc_id) for b in range(8)],
        )
    db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    kb = KnowledgeBase.open(built)
    conn = kb.index.current().store.conn
    assert kb.index.current().store.schema_version() == SCHEMA_VERSION
    bands = conn.execute("SELECT doc_id, COUNT(*), MAX(band) FROM simhash_bands GROUP BY doc_id")
    assert {(n, top) for _, n, top in bands} == {(4, 3)}
    some = next(iter(fingerprints))
    assert duplicates.near(conn, fingerprints[some]) == [(some, 0)]
    kb.close()


def test_an_index_of_schema_6_gets_the_table_of_filter_values_and_filters_read_it(
    built: Settings,
):
    """Schema 6 had a covering index of the filtered columns, and a topic filter read
    every report's JSON list of topics. Opening fills the table of values from the
    reports and adds the index of centroids, nothing else changes, and filters look
    their reports up in the table."""
    import sqlite3

    from search.filters import Filters

    path = built.index / "store-0001" / "kb.sqlite"
    kb = KnowledgeBase.open(built)
    store = kb.index.current().store
    meta = store.conn.execute(
        "SELECT event, organiser, topics FROM documents WHERE event != '' AND topics != '[]'"
    ).fetchone()
    topic = json.loads(meta["topics"])[0]
    cases = [
        Filters(topics=(topic.upper(),)),
        Filters(event=meta["event"].lower()),
        Filters(organiser=meta["organiser"], date_from="2019"),
        Filters(date_from="2021", date_to="2022"),
    ]
    before = [
        kb.search("Wasserstoff", k=50, filters=f, every_candidate=True).results for f in cases
    ]
    rows = store.conn.execute("SELECT * FROM document_values ORDER BY 1, 2, 3").fetchall()
    generation = kb.generation()
    kb.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE document_values")
    db.execute("DROP INDEX documents_dates")
    db.execute("DROP INDEX field_vectors_centroids")
    db.execute(
        "CREATE INDEX documents_filters "
        "ON documents(date, event, organiser, location, format, language, topics, id)"
    )
    db.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    kb = KnowledgeBase.open(built)
    store = kb.index.current().store
    assert store.schema_version() == SCHEMA_VERSION
    assert kb.generation() == generation  # no write to the documents
    assert [
        tuple(r) for r in store.conn.execute("SELECT * FROM document_values ORDER BY 1, 2, 3")
    ] == [tuple(r) for r in rows]
    assert any(r["field"] == "topics" for r in rows) and any(r["field"] == "event" for r in rows)
    for filters, results in zip(cases, before, strict=True):
        after = kb.search("Wasserstoff", k=50, filters=filters, every_candidate=True).results
        assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in results]
        assert after, filters
        where, params = filters.sql()
        plan = " ".join(
            row[-1]
            for row in store.conn.execute(
                f"EXPLAIN QUERY PLAN SELECT d.id FROM documents d WHERE {where}", params
            )
        )
        assert "json_each" not in plan and "SCAN d" not in plan, plan
    names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
    assert "documents_filters" not in names and "documents_dates" in names
    plan = " ".join(
        row[-1]
        for row in store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT doc_id, vector FROM field_vectors "
            "WHERE kind = 'document' AND doc_id IN (?, ?)",
            ("a", "b"),
        )
    )
    assert "USING INDEX field_vectors_centroids" in plan, plan
    kb.close()
