"""Evaluation: the metrics on hand-made cases and `kb eval` on a small BEIR folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from search.errors import KBError
from search.evaluate import METRIC_KEYS, load_beir, score_ranking


def test_metrics_of_a_single_relevant_document():
    m = score_ranking(["a", "b", "c"], {"b": 1})
    assert m["recall@1"] == 0 and m["recall@5"] == 1 and m["mrr@10"] == 0.5
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))


def test_graded_ndcg_rewards_the_better_order():
    grades = {"x": 2, "y": 1}
    best = score_ranking(["x", "y"], grades)
    worse = score_ranking(["y", "x"], grades)
    assert best["ndcg@10"] == pytest.approx(1.0)
    assert worse["ndcg@10"] < best["ndcg@10"]
    assert score_ranking(["z"], grades)["ndcg@10"] == 0.0
    assert score_ranking(["x", "q", "y"], grades)["recall@1"] == 0.5


def _beir(folder: Path, with_corpus: bool = True) -> Path:
    folder.mkdir()
    (folder / "qrels").mkdir()
    docs = [
        {"_id": "h2", "title": "Wasserstoff", "text": "Elektrolyse erzeugt Wasserstoff aus Strom."},
        {"_id": "fk", "title": "Fachkräfte", "text": "Betriebe suchen Fachkräfte und Azubis."},
        {"_id": "kw", "title": "Kreislauf", "text": "Recycling von Kunststoff im Kreislauf."},
    ]
    if with_corpus:
        (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    queries = [
        {"_id": "q1", "text": "Wasserstoff Elektrolyse", "metadata": {"language": "de"}},
        {"_id": "q2", "text": "Fachkräfte", "metadata": {"language": "de"}},
        {"_id": "q3", "text": "Kunststoff Recycling", "metadata": {"language": "en"}},
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels" / "dev.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\th2\t1\nq2\tfk\t2\nq3\tkw\t1\n"
    )
    return folder


def test_kb_eval_builds_a_temporary_index_and_prints_exactly_the_keys(tmp_path: Path):
    folder = _beir(tmp_path / "bench")
    result = CliRunner().invoke(main, ["eval", str(folder), "--split", "dev", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert tuple(data) == METRIC_KEYS
    assert data["queries"] == 3 and data["mrr@10"] == 1.0
    german = json.loads(
        CliRunner()
        .invoke(main, ["eval", str(folder), "--split", "dev", "--lang", "de", "--json"])
        .output
    )
    assert german["queries"] == 2


def test_kb_eval_against_an_existing_index(tmp_path: Path, reports: Path, settings):
    index = str(settings.index)
    assert CliRunner().invoke(main, ["ingest", str(reports), "--index", index]).exit_code == 0
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "qrels").mkdir()
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "1", "text": "Wasserstoff"}))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n1\twasserstoff-forum\t2\n"
    )
    out = CliRunner().invoke(main, ["eval", str(folder), "--index", index])
    assert out.exit_code == 0, out.output
    assert "mrr@10" in out.output and "1.0" in out.output


def test_not_a_beir_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(KBError, match="queries.jsonl"):
        load_beir(tmp_path, "test")
    result = CliRunner().invoke(main, ["eval", str(tmp_path)])
    assert result.exit_code == 1 and "not a BEIR folder" in result.output
