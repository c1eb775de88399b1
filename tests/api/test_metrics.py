"""Prometheus metrics: requests by route template, search latency, index size."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


def scrape(client: TestClient) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(samples: list, name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_requests_are_counted_by_route_template(client: TestClient):
    for doc_id in ("kreislauf", "digitalisierung", "gibt-es-nicht"):
        client.get(f"/api/v1/documents/{doc_id}")
    client.get("/api/v1/search", params={"q": "Wasserstoff"})
    client.get("/zufall/123")
    client.get("/zufall/456")
    metrics = scrape(client)
    counts = metrics["http_requests"]
    template = "/api/v1/documents/{doc_id}"
    assert value(counts, "http_requests_total", handler=template, status="200") == 2
    assert value(counts, "http_requests_total", handler=template, status="404") == 1
    assert value(counts, "http_requests_total", handler="/api/v1/search", status="200") == 1
    # raw paths never become labels: unknown ones share one
    handlers = {s.labels["handler"] for s in counts}
    assert not any("kreislauf" in h or "zufall" in h for h in handlers)
    assert value(counts, "http_requests_total", handler="none", status="404") == 2
    latency = metrics["http_request_duration_seconds"]
    assert value(latency, "http_request_duration_seconds_count", handler=template) == 3


def test_search_latency_histogram(client: TestClient):
    for q in ("Wasserstoff", "Fachkräfte", "Recycling"):
        assert client.get("/api/v1/search", params={"q": q}).status_code == 200
    client.get("/api/v1/search", params={"q": "\u200b"})  # refused: no search ran
    samples = scrape(client)["kb_search_seconds"]
    assert value(samples, "kb_search_seconds_count") == 3
    assert 0 < value(samples, "kb_search_seconds_sum") < 30
    assert value(samples, "kb_search_seconds_bucket", le="+Inf") == 3


def test_index_size_gauges_follow_the_index(client: TestClient):
    metrics = scrape(client)
    stats = client.app.state.kb.stats()
    assert value(metrics["kb_index_documents"], "kb_index_documents") == 4
    assert value(metrics["kb_index_chunks"], "kb_index_chunks") == stats["chunks"]
    assert value(metrics["kb_index_vectors"], "kb_index_vectors") == stats["vectors"]
    assert value(metrics["kb_index_generation"], "kb_index_generation") == stats["generation"]
    client.app.state.kb.remove_document("kreislauf")
    assert value(scrape(client)["kb_index_documents"], "kb_index_documents") == 3
