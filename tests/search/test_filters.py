"""Filters narrow a search before ranking; facets and sorting over the matching reports."""

from __future__ import annotations

import pytest

from search.errors import InvalidQuery
from search.filters import Filters
from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument


def _doc(source, text, *, date=None, topics=(), event=None, organiser=None, fmt_title="Bericht"):
    return NewDocument(
        source=source,
        sha256=source,
        text=text,
        chunks=[Chunk(text, 0)],
        title=fmt_title,
        date=date,
        topics=list(topics),
        event=event,
        organiser=organiser,
    )


@pytest.fixture
def archive(kb: KnowledgeBase) -> KnowledgeBase:
    """Forty reports on recycling (2019-2022) and one on hydrogen from 2023."""
    for i in range(40):
        kb.add_document(
            f"r{i:02d}",
            _doc(
                f"r{i}.md",
                f"Recycling von Kunststoff im Betrieb {i}. Kreislaufwirtschaft und Wasserstoff.",
                date=f"{2019 + i % 4}-0{1 + i % 9}-1{i % 10}",
                topics=["Kreislaufwirtschaft", "Recycling" if i % 2 else "Abfall"],
                event="Werkstatt" if i % 3 else "Forum",
                organiser="IHK",
            ),
            fmt="md",
        )
    kb.add_document(
        "h2",
        _doc(
            "h2.md",
            "Grüner Wasserstoff aus Elektrolyse für die Stahlindustrie.",
            date="2023-05-04",
            topics=["Wasserstoff"],
            event="Forum",
            organiser="Initiative Nord",
        ),
        fmt="pdf",
    )
    return kb


def _ids(kb: KnowledgeBase, query: str, **kw) -> list[str]:
    return [h.id for h in kb.search(query, k=100, every_candidate=True, **kw).results]


def test_a_rare_filter_still_gets_its_best_report_not_the_remains_of_a_top_list(
    archive: KnowledgeBase, monkeypatch
):
    # the 40 recycling reports fill every candidate list for this query ...
    archive.settings = archive.settings.model_copy(update={"candidates": 10})
    unfiltered = _ids(archive, "Recycling Kunststoff Kreislaufwirtschaft")
    assert "h2" not in unfiltered[:5]
    # ... yet the hydrogen report is found when the filter admits only it
    assert _ids(archive, "Recycling Kunststoff", filters=Filters(date_from="2023")) == ["h2"]
    assert _ids(archive, "Recycling", filters=Filters(organiser="initiative nord")) == ["h2"]
    assert _ids(archive, "Recycling", filters=Filters(format="pdf"), ranking="lexical") == []


def test_each_filter_and_their_combination(archive: KnowledgeBase):
    years = lambda ids: {archive.get_document(i)["date"][:4] for i in ids}  # noqa: E731
    assert years(_ids(archive, "Recycling", filters=Filters(date_from="2021", date_to="2021")))
    assert years(_ids(archive, "Recycling", filters=Filters(date_from="2021", date_to="2021"))) == {
        "2021"
    }
    got = _ids(archive, "Recycling", filters=Filters(topics=("recycling", "Wasserstoff")))
    assert "h2" in got and all(
        set(archive.get_document(i)["topics"]) & {"Recycling", "Wasserstoff"} for i in got
    )
    both = Filters(topics=("Abfall",), event="Forum", date_to="2020-12")
    for doc_id in _ids(archive, "Kunststoff", filters=both):
        doc = archive.get_document(doc_id)
        assert "Abfall" in doc["topics"] and doc["event"] == "Forum" and doc["date"] < "2021"
    assert _ids(archive, "Recycling", filters=Filters(event="gibt es nicht")) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"date_from": "2021-13"},
        {"date_to": "gestern"},
        {"date_to": "0001-00-00"},
        {"date_from": "2021-00"},
        {"topics": ("x",) * 21},
    ],
)
def test_malformed_filters_are_refused_naming_the_field(bad):
    with pytest.raises(InvalidQuery, match=next(iter(bad))[:5]):
        Filters(**bad)


def test_facets_count_all_matching_reports_and_sorting_by_date(archive: KnowledgeBase):
    response = archive.search("Recycling Kunststoff Kreislaufwirtschaft", k=5)
    assert len(response.results) == 5 < response.total
    topics = {f.value: f.count for f in response.facets["topics"]}
    assert topics["Kreislaufwirtschaft"] == response.total  # every matching one, not the page
    years = {f.value: f.count for f in response.facets["years"]}
    assert sum(years.values()) == response.total
    newest = archive.search("Recycling Kunststoff Kreislaufwirtschaft", k=100, sort="date")
    dates = [h.date for h in newest.results]
    assert dates == sorted(dates, reverse=True) and newest.total == response.total
    with pytest.raises(InvalidQuery, match="sort"):
        archive.search("Recycling", sort="random")


def test_facets_keep_their_most_frequent_values(archive: KnowledgeBase):
    query = "Recycling Kunststoff Kreislaufwirtschaft"
    every = archive.search(query, k=5, facet_limit=1000).facets
    assert len(every["years"]) > 2  # enough values to cut
    two = archive.search(query, k=5, facet_limit=2).facets
    assert {name: values[:2] for name, values in every.items()} == two
    assert all(not values for values in archive.search(query, facet_limit=0).facets.values())
    # the default comes from the settings
    archive.settings.facet_limit = 1
    assert all(len(values) <= 1 for values in archive.search(query).facets.values())


def test_similar_reports_and_value_lists(archive: KnowledgeBase):
    similar = archive.similar("r00", k=5)
    assert len(similar) == 5 and "r00" not in [s["id"] for s in similar]
    assert similar[0]["score"] >= similar[-1]["score"]
    assert "h2" not in [s["id"] for s in similar]  # the one report on another topic
    topics = {v.value: v.count for v in archive.values("topics")}
    assert topics == {"Kreislaufwirtschaft": 40, "Recycling": 20, "Abfall": 20, "Wasserstoff": 1}
    assert [(v.value, v.count) for v in archive.values("event")][0] == ("Werkstatt", 26)


def test_values_with_umlauts_match_in_any_case(kb: KnowledgeBase):
    """SQLite's lower() folds ASCII only: "Ökologie" and "Überregionales Forum" were
    never found, not even spelled as stored."""
    kb.add_document(
        "oe",
        _doc(
            "oe.md",
            "Wasserstoff im Hafen.",
            topics=["Ökologie"],
            event="Überregionales Forum",
            organiser="ÄGF",
        ),
    )
    kb.add_document("x", _doc("x.md", "Wasserstoff im Netz.", topics=["Energie"], event="Forum"))
    for filters in (
        Filters(topics=("Ökologie",)),
        Filters(topics=("ökologie",)),
        Filters(topics=("ÖKOLOGIE", "Energie")),
        Filters(event="Überregionales Forum"),
        Filters(event="überregionales forum"),
        Filters(organiser="ägf"),
    ):
        assert "oe" in _ids(kb, "Wasserstoff", filters=filters), filters
    assert _ids(kb, "Wasserstoff", filters=Filters(event="forum")) == ["x"]
    assert _ids(kb, "Wasserstoff", filters=Filters(topics=("okologie",))) == []


@pytest.mark.parametrize(
    "filters",
    [Filters(date_from="2023"), Filters(event="forum"), Filters(topics=("Recycling",))],
)
def test_a_filters_allowed_ids_are_its_reports_vectors_from_sqlite_or_from_memory(
    archive: KnowledgeBase, filters: Filters, monkeypatch
):
    # few reports: their ids are read from SQLite; more: from the mirror's owner arrays
    from search import retrieval

    with archive.index.reading() as view:
        docs, _ = view.store.admitted(*filters.sql())
        expected = view.store.allowed(docs)
        for few in (0, 1_000):
            monkeypatch.setattr(retrieval, "FEW_DOCS", few)
            monkeypatch.setattr(retrieval, "FEW", 1.0)  # allowed ids for every filter
            within = retrieval.scope(view, filters)
            assert within.docs == docs
            assert sorted(within.chunks.tolist()) == sorted(expected[0].tolist())
            assert sorted(within.fields.tolist()) == sorted(expected[1].tolist())
    assert len(expected[1]) > len(expected[0]) > 0


def test_a_removed_report_leaves_the_allowed_ids(archive: KnowledgeBase, monkeypatch):
    from search import retrieval

    monkeypatch.setattr(retrieval, "FEW_DOCS", 0)
    monkeypatch.setattr(retrieval, "FEW", 1.0)
    assert _ids(archive, "Recycling", filters=Filters(topics=("Wasserstoff",))) == ["h2"]
    archive.remove_document("h2")
    assert _ids(archive, "Wasserstoff", filters=Filters(topics=("Wasserstoff",))) == []
    with archive.index.reading() as view:
        within = retrieval.scope(view, Filters(event="Forum"))
        assert "h2" not in within.docs
        owners = view.mirror.owners
        assert set(owners["passages"].docs(within.chunks.tolist()).values()) == within.docs
        assert set(owners["fields"].docs(within.fields.tolist()).values()) == within.docs


def _values(kb: KnowledgeBase, doc_id: str) -> set[tuple[str, str]]:
    rows = kb.index.current().store.conn.execute(
        "SELECT field, folded FROM document_values WHERE doc_id = ?", (doc_id,)
    )
    return {(r[0], r[1]) for r in rows}


def test_the_values_filters_look_up_follow_edits_replacements_and_removals(
    archive: KnowledgeBase,
):
    assert _values(archive, "h2") == {
        ("topics", "wasserstoff"),
        ("event", "forum"),
        ("organiser", "initiative nord"),
        ("format", "pdf"),
    }
    archive.update_metadata("h2", {"topics": ["Ökologie", "Energie"], "event": "Messe"})
    assert _ids(archive, "Wasserstoff", filters=Filters(topics=("Wasserstoff",))) == []
    assert _ids(archive, "Wasserstoff", filters=Filters(topics=("ökologie",))) == ["h2"]
    assert _ids(archive, "Wasserstoff", filters=Filters(event="MESSE")) == ["h2"]
    assert ("organiser", "initiative nord") in _values(archive, "h2")  # not edited: kept
    # the report ingested again, with other metadata: its values are replaced
    archive.add_document(
        "h2", _doc("h2.md", "Grüner Wasserstoff.", topics=["Stahl"], organiser="IHK"), fmt="md"
    )
    assert _values(archive, "h2") == {("topics", "stahl"), ("organiser", "ihk"), ("format", "md")}
    assert _ids(archive, "Wasserstoff", filters=Filters(topics=("Ökologie",))) == []
    archive.remove_document("h2")
    assert _values(archive, "h2") == set()
