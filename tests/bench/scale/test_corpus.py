"""The scale benchmark's corpus generator: deterministic, and the sizes it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scale.corpus import (
    PASSAGE_WEIGHTS,
    build_corpus,
    existing_corpus,
    load_sources,
    parse_size,
    plan_for_passages,
)
from ingest.formats import Limits
from ingest.pipeline import build_document
from search.settings import Settings

CORPUS = Path(__file__).resolve().parents[3] / "corpus"


@pytest.fixture(scope="module")
def sources():
    # our corpus only: hermetic, no shared benchmark data needed
    return load_sources(CORPUS, gnad=None)


def _passages(folder: Path) -> list[int]:
    counts = []
    for path in sorted(folder.iterdir()):
        limits = Limits.from_settings(Settings(index=Path("unused"), embedder="fake"))
        doc, _ = build_document(path.read_bytes(), path.name, path.name, (1000, 200), limits)
        counts.append(len(doc.chunks))
    return counts


def test_parse_size_reports_and_passages():
    assert parse_size("1k").reports == 1000
    assert parse_size("3000").reports == 3000
    spec = parse_size("100kp")
    assert (spec.passages, spec.reports, spec.label) == (100_000, None, "100k passages")
    with pytest.raises(ValueError):
        parse_size("ten")
    with pytest.raises(ValueError):
        parse_size("1p")


@pytest.mark.parametrize("total", [2, 3, 7, 8, 13, 1001])
def test_passage_plan_sums_exactly_with_two_to_six_each(total):
    plan = plan_for_passages(total, seed=5)
    assert sum(plan) == total
    assert all(min(PASSAGE_WEIGHTS) <= n <= max(PASSAGE_WEIGHTS) for n in plan)


def test_reports_have_the_promised_passages_for_our_chunker(sources, tmp_path):
    spec = parse_size("12")
    info = build_corpus(spec, tmp_path / "c", sources, seed=3)
    counts = _passages(tmp_path / "c")
    assert len(counts) == info.reports == 12
    assert counts == spec.passage_plan(3)
    assert sum(counts) == info.passages
    text = next((tmp_path / "c").iterdir()).read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: ") and "\n## " in text


def test_passage_sized_corpus_holds_exactly_that_many(sources, tmp_path):
    info = build_corpus(parse_size("40p"), tmp_path / "c", sources, seed=3)
    assert info.passages == 40
    assert sum(_passages(tmp_path / "c")) == 40


def test_same_seed_same_bytes_and_smaller_is_a_prefix(sources, tmp_path):
    build_corpus(parse_size("8"), tmp_path / "a", sources, seed=9)
    build_corpus(parse_size("8"), tmp_path / "b", sources, seed=9)
    build_corpus(parse_size("3"), tmp_path / "small", sources, seed=9)
    build_corpus(parse_size("8"), tmp_path / "other", sources, seed=10)

    def read(folder: str) -> list[bytes]:
        return [p.read_bytes() for p in sorted((tmp_path / folder).iterdir())]

    assert read("a") == read("b")
    assert read("small") == read("a")[:3]
    assert read("other") != read("a")


def test_refuses_a_folder_with_files(sources, tmp_path):
    (tmp_path / "old.md").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        build_corpus(parse_size("2"), tmp_path, sources, seed=1)


def test_a_kept_corpus_is_recognised_for_reuse_and_a_wrong_one_refused(sources, tmp_path):
    built = build_corpus(parse_size("40p"), tmp_path / "c", sources, seed=3)
    assert existing_corpus(parse_size("40p"), tmp_path / "c", seed=3) == built
    with pytest.raises(ValueError, match="not the"):
        existing_corpus(parse_size("12"), tmp_path / "c", seed=3)
    with pytest.raises(ValueError, match="holds 0 reports"):
        existing_corpus(parse_size("40p"), tmp_path / "missing", seed=3)
