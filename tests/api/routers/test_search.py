"""Search that portals build on: filters, facets, sorting, paging links, why it matched,
similar reports and value lists, through HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

QUERY = "Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft"


def test_filters_narrow_before_ranking_and_facets_count_all_matches(client: TestClient):
    everything = client.get("/api/v1/search", params={"q": QUERY, "k": 1}).json()
    facets = everything["facets"]
    assert sum(f["count"] for f in facets["years"]) == everything["total"] >= 2
    assert {f["value"] for f in facets["formats"]} <= {"md", "txt"}
    only = client.get(
        "/api/v1/search", params={"q": QUERY, "topic": ["Wasserstoff", "Ausbildung"]}
    ).json()
    assert {h["id"] for h in only["results"]} <= {"wasserstoff-forum", "fachkraefte-treffen"}
    year = client.get("/api/v1/search", params={"q": QUERY, "date_from": "2022"}).json()
    assert all(h["date"] >= "2022" for h in year["results"]) and year["total"] >= 1
    unknown = client.get("/api/v1/search", params={"q": QUERY, "event": "Gibt es nicht"})
    assert unknown.status_code == 200 and unknown.json()["total"] == 0  # empty, not an error


def test_sort_by_date_gives_the_same_reports_newest_first(client: TestClient):
    by_score = client.get("/api/v1/search", params={"q": QUERY, "k": 10}).json()
    by_date = client.get("/api/v1/search", params={"q": QUERY, "k": 10, "sort": "date"}).json()
    assert by_date["sort"] == "date" and by_date["total"] == by_score["total"]
    assert {h["id"] for h in by_date["results"]} == {h["id"] for h in by_score["results"]}
    dates = [h["date"] for h in by_date["results"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"date_from": "2021-13"}, "date_from"),
        ({"date_to": "2021-02-30"}, "date_to"),
        ({"date_to": "0001-00-00"}, "date_to"),  # month 00 is no January
        ({"date_from": "2021-00"}, "date_from"),
        ({"date_from": "gestern"}, "date_from"),
        ({"topic": [f"t{i}" for i in range(21)]}, "topic"),
        ({"sort": "random"}, "sort"),
        ({"format": "exe"}, "format"),
        ({"k": 0}, "k"),
        ({"offset": 10_001}, "offset"),
        ({"q": "x" * 5000}, "q"),
        ({"event": ["Forum", "Treffen"]}, "event"),  # one value, not the last one silently
        ({"k": [3, 4]}, "k"),
    ],
)
def test_bad_parameters_are_a_422_problem_naming_the_parameter(client, params, name):
    response = client.get("/api/v1/search", params={"q": QUERY, **params})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"].startswith(f"{name}") and body["errors"][0]["name"] == name


def test_only_repeatable_parameters_take_several_values(client: TestClient):
    # a topic may be repeated, and a number is a topic's name like any other string
    for topics in (["Wasserstoff", "Ausbildung"], ["-14095670941"]):
        assert client.get("/api/v1/search", params={"q": QUERY, "topic": topics}).is_success
    twice = client.get("/api/v1/documents", params={"limit": [1, 2]})
    assert twice.status_code == 422 and twice.json()["errors"][0]["type"] == "multiple_values"


def test_why_it_matched(client: TestClient):
    hit = client.get("/api/v1/search", params={"q": "Wasserstoff Region"}).json()["results"][0]
    assert hit["id"] == "wasserstoff-forum"
    assert hit["matched_terms"] == ["Wasserstoff", "Region"]
    assert [m["kind"] for m in hit["marks"]] == ["term"] * len(hit["highlights"])
    assert [[m["start"], m["end"]] for m in hit["marks"]] == hit["highlights"]


def test_similar_reports_and_value_lists(client: TestClient):
    similar = client.get("/api/v1/documents/wasserstoff-forum/similar", params={"k": 2}).json()
    assert similar["id"] == "wasserstoff-forum" and len(similar["results"]) == 2
    assert "wasserstoff-forum" not in [r["id"] for r in similar["results"]]
    assert client.get("/api/v1/documents/gibt-es-nicht/similar").status_code == 404
    topics = client.get("/api/v1/topics").json()["values"]
    assert {"value": "Wasserstoff", "count": 1} in topics
    assert sum(t["count"] for t in topics) == 6
    events = client.get("/api/v1/events").json()["values"]
    assert [e["value"] for e in events] == ["Forum Wasserstoff", "Netzwerktreffen"]
    assert client.head("/api/v1/topics").status_code == 200


def test_the_answer_is_what_the_response_model_writes(client: TestClient):
    """The route writes its answer without the response model: the bytes must still be
    the model's JSON, with the headers the dependencies set."""
    from api.schemas import SearchResponse

    for params in ({"q": QUERY, "k": 2, "offset": 1}, {"q": "Wasserstoff", "sort": "date"}):
        answer = client.get("/api/v1/search", params=params)
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["etag"].startswith('W/"') and answer.headers["cache-control"]
        assert int(answer.headers["content-length"]) == len(answer.content)
        model = SearchResponse.model_validate_json(answer.content)
        assert model.model_dump(mode="json") == answer.json()
        assert answer.json()["results"] and answer.json()["facets"]["years"]
    paged = client.get("/api/v1/search", params={"q": QUERY, "k": 1, "offset": 1}).json()
    assert "offset=0" in paged["prev"] and "offset=2" in paged["next"]


def test_facet_limit(client: TestClient):
    def facets(**params) -> dict:
        answer = client.get("/api/v1/search", params={"q": QUERY, **params})
        assert answer.status_code == 200
        return answer.json()["facets"]

    every = facets(facet_limit=1000)
    assert len(every["years"]) >= 2
    assert facets(facet_limit=1) == {name: values[:1] for name, values in every.items()}
    assert facets(facet_limit=0) == {name: [] for name in every}
    assert facets() == {name: values[:20] for name, values in every.items()}
    for bad in ("-1", "1001", "zwei"):
        answer = client.get("/api/v1/search", params={"q": QUERY, "facet_limit": bad})
        assert answer.status_code == 422 and answer.json()["errors"][0]["name"] == "facet_limit"
