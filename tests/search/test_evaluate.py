"""Evaluation: the metrics on hand-made cases and `kb eval` on a small BEIR folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from ingest.evaluation import benchmark_index
from search.errors import KBError
from search.evaluate import (
    METRIC_KEYS,
    compare_queries,
    evaluate_on,
    first_relevant,
    load_beir,
    score_ranking,
)


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


def test_first_relevant_rank():
    assert first_relevant(["x", "y", "z"], {"z": 1, "q": 2}) == 3
    assert first_relevant(["x", "y"], {"y": 0}) is None  # grade 0 is not relevant
    assert first_relevant([], {"a": 1}) is None


def test_an_id_never_becomes_text(tmp_path: Path, settings):
    # the id names the answer; the entry has no title: search must not find it by its id
    bench = _beir(tmp_path / "bench")
    corpus = [
        {"_id": "wasserstoff", "title": "", "text": "Betriebe suchen Azubis."},
        {"_id": "azubis", "title": "", "text": "Elektrolyse im Emsland."},
    ]
    (bench / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus))
    with benchmark_index(load_beir(bench, "dev"), settings) as kb:
        meta = kb.index.current().store.documents_meta(["wasserstoff", "azubis"])
        assert {m["title"] for m in meta.values()} == {""}
        hits = kb.search("wasserstoff", ranking="lexical").results
        assert [h.id for h in hits] == []  # the word is only in the other's id


def test_per_query_rows_and_comparison(tmp_path: Path, settings):
    bench = load_beir(_beir(tmp_path / "bench"), "dev")
    with benchmark_index(bench, settings) as kb:
        results = evaluate_on(kb, bench, ["hybrid", "dense", "lexical"], per_query=True)
    assert set(results) == {"hybrid", "dense", "lexical"}
    rows = results["hybrid"]["per_query"]
    assert [r["query"] for r in rows] == ["q1", "q2", "q3"]
    assert all(r["first_relevant"] == 1 and r["ndcg@10"] == 1.0 for r in rows)
    # the mean of the rows is the reported metric
    mean = sum(r["ndcg@10"] for r in rows) / len(rows)
    assert results["hybrid"]["metrics"]["ndcg@10"] == pytest.approx(mean, abs=1e-4)
    compared = compare_queries(results)
    assert {c["query"] for c in compared} == {"q1", "q2", "q3"}
    assert set(compared[0]["delta"]) == {"hybrid-dense", "hybrid-lexical"}


def test_comparison_puts_losses_first():
    def result(ndcgs):
        rows = [
            {"query": q, "text": q, "first_relevant": 1 if v else None, "ndcg@10": v}
            for q, v in ndcgs.items()
        ]
        return {"metrics": {}, "per_query": rows}

    rows = compare_queries(
        {
            "hybrid": result({"a": 1.0, "b": 0.2, "c": 0.5}),
            "dense": result({"a": 0.5, "b": 0.9, "c": 0.5}),
        }
    )
    assert [r["query"] for r in rows] == ["b", "c", "a"]
    assert rows[0]["delta"]["hybrid-dense"] == pytest.approx(-0.7)
    assert rows[0]["hybrid"] == {"first_relevant": 1, "ndcg@10": 0.2}


def test_kb_eval_per_query_lists_every_query_under_every_ranking(tmp_path: Path):
    folder = _beir(tmp_path / "bench")
    out = CliRunner().invoke(main, ["eval", str(folder), "--split", "dev", "--per-query"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "hybrid 1st" in lines[0] and "lexical 1st" in lines[0] and "hyb-den" in lines[0]
    assert sum(line.startswith(("q1 ", "q2 ", "q3 ")) for line in lines) == 3
    assert "hybrid loses to dense: 0" in out.output
    data = json.loads(
        CliRunner()
        .invoke(
            main,
            ["eval", str(folder), "--split", "dev", "--per-query", "--ranking", "dense", "--json"],
        )
        .output
    )
    assert list(data["rankings"]) == ["dense", "hybrid", "lexical"]
    assert tuple(data["rankings"]["dense"]) == METRIC_KEYS
    row = data["queries"][0]
    assert set(row) == {"query", "text", "dense", "hybrid", "lexical", "delta"}
    assert set(row["delta"]) == {"dense-hybrid", "dense-lexical"}


def test_first_relevant_beyond_the_first_page_comes_from_a_deeper_search(tmp_path: Path):
    folder = tmp_path / "deep"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "text": f"Wasserstoff Bericht Nummer {i}."} for i in range(12)]
    docs.append({"_id": "target", "text": "Kunststoff Recycling im Kreislauf."})
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q", "text": "Wasserstoff"}))
    (folder / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq\ttarget\t1\n")
    out = CliRunner().invoke(main, ["eval", str(folder), "--split", "dev", "--per-query", "--json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)["queries"][0]
    assert row["hybrid"]["ndcg@10"] == 0.0
    # not on the first page: the rank comes from the longer list (or None past it)
    first = row["hybrid"]["first_relevant"]
    assert first == 13  # after the twelve reports with the word
