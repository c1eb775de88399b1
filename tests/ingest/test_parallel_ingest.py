"""A bulk ingest on several processes (``KB_EMBED_PROCESSES``) writes the same index as
one process, reports every file in order, and keeps failures to their files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ingest.pipeline
from ingest.pipeline import BATCH_FILES, ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings

TOPICS = ["Wasserstoff", "Fachkräfte", "Kreislaufwirtschaft", "Digitalisierung", "Energie"]


def _corpus(folder: Path, count: int) -> Path:
    """Reports long enough that every batch goes to the helper processes."""
    folder.mkdir()
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        body = " ".join(
            f"Im Forum {i} ging es um {topic} und Satz {j} nannte Beispiele aus Betrieben."
            for j in range(30)
        )
        (folder / f"bericht-{i:03d}.md").write_text(f"# {topic} {i}\n\n{body}\n", encoding="utf-8")
    # the same file twice, in different batches: the second is an alias of the first
    (folder / "zzz-kopie.md").write_bytes((folder / "bericht-000.md").read_bytes())
    (folder / "bericht-017.md").write_text("", encoding="utf-8")  # empty: fails alone
    return folder


def _ingest(tmp_path: Path, name: str, reports: Path, processes: int):
    settings = Settings(index=tmp_path / name, embedder="fake", embed_processes=processes)
    kb = KnowledgeBase.open(settings)
    seen = []
    report = ingest_files(kb, iter_files([reports]), on_file=seen.append)
    return kb, report, seen


def _index(kb: KnowledgeBase):
    conn = kb.index.current().store.conn
    chunks = conn.execute(
        "SELECT doc_id, position, text, vector FROM chunks ORDER BY id"
    ).fetchall()
    fields = conn.execute(
        "SELECT doc_id, chunk_id, kind, vector FROM field_vectors ORDER BY id"
    ).fetchall()
    return chunks, fields


def test_two_processes_write_the_same_index_and_report_each_file_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    reports = _corpus(tmp_path / "reports", 3 * BATCH_FILES + 5)
    started = []
    real = ingest.pipeline.KnowledgeBase.add_batches

    def add_batches(self, batches, **kwargs):
        for outcome in real(self, batches, **kwargs):
            pool = self._bulk.pool
            started.append((self.folder.name, pool.processes, pool._executor is not None))
            yield outcome

    monkeypatch.setattr(ingest.pipeline.KnowledgeBase, "add_batches", add_batches)
    one, report_one, seen_one = _ingest(tmp_path, "one", reports, processes=1)
    two, report_two, seen_two = _ingest(tmp_path, "two", reports, processes=2)

    assert {s for s in started if s[0] == "one"} == {("one", 1, False)}
    assert {s for s in started if s[0] == "two"} == {("two", 2, True)}  # helpers embedded
    assert two._bulk.pool is None  # the bulk's end stopped them

    files = sorted(p.name for p in reports.iterdir())
    for report, seen in ((report_one, seen_one), (report_two, seen_two)):
        assert [Path(r.path).name for r in seen] == files  # every file once, in order
        assert [Path(r.path).name for r in report.failed] == ["bericht-017.md"]
        (copy,) = [r for r in seen if r.status == "duplicate"]
        assert Path(copy.path).name == "zzz-kopie.md" and copy.duplicate_of == "bericht-000"
    assert [(r.path, r.status, r.doc_id) for r in seen_one] == [
        (r.path, r.status, r.doc_id) for r in seen_two
    ]

    (chunks_one, fields_one), (chunks_two, fields_two) = _index(one), _index(two)
    assert len(chunks_one) == len(chunks_two) > 3 * BATCH_FILES
    assert [c[:3] for c in chunks_one] == [c[:3] for c in chunks_two]
    assert [f[:3] for f in fields_one] == [f[:3] for f in fields_two]
    for a, b in zip(chunks_one + fields_one, chunks_two + fields_two, strict=True):
        assert np.array_equal(np.frombuffer(a[-1], np.float32), np.frombuffer(b[-1], np.float32))
    hits = [kb.search("Wasserstoff Betriebe", k=5).to_dict()["results"] for kb in (one, two)]
    assert hits[0] == hits[1] and hits[0]
    one.close()
    two.close()


def test_a_failing_batch_in_the_helpers_is_redone_document_by_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A text that makes the embedder fail in a helper costs its document only."""
    import search.writing

    reports = _corpus(tmp_path / "reports", BATCH_FILES + 3)
    (reports / "bericht-005.md").write_text("# Kaputt\n\n" + "x " * 3000, encoding="utf-8")
    real = search.writing.Writer._prepare

    def _prepare(self, items, plan=None, vectors=None):
        if any("x x x" in i.doc.text for i in items):
            raise ValueError("the embedder cannot read this report")
        return real(self, items, plan, vectors)

    monkeypatch.setattr(search.writing.Writer, "_prepare", _prepare)
    kb, report, seen = _ingest(tmp_path, "index", reports, processes=2)
    assert sorted(Path(r.path).name for r in report.failed) == ["bericht-005.md", "bericht-017.md"]
    assert report.count("added") == BATCH_FILES + 3 - 2
    assert kb.stats()["documents"] == BATCH_FILES + 1
    kb.close()
