"""Prometheus metrics at ``/metrics``: requests by route template, search latency, index size.

Each app has its own registry, so several apps in one process (tests) do not collide.
Request counts and latencies come from prometheus-fastapi-instrumentator, labelled by
the route template (``/api/v1/documents/{doc_id}``, never the raw path).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator

log = logging.getLogger(__name__)

#: index sizes from ``KnowledgeBase.stats()``, read at each scrape
INDEX_GAUGES = {
    "documents": "Reports in the knowledge base",
    "chunks": "Passages in the knowledge base",
    "vectors": "Vectors in the in-memory vector index",
    "generation": "Generation of the active store (counts commits)",
}

#: seconds; a search takes tens of milliseconds, a page of documents a few
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """The app's registry and the metrics routes observe themselves."""

    registry: CollectorRegistry
    search_seconds: Histogram


class IndexCollector(Collector):
    """Gauges of the index size, read from the open knowledge base at each scrape."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterator[Metric]:
        """The gauges' names, without reading the index (registration runs before start)."""
        for name, text in INDEX_GAUGES.items():
            yield GaugeMetricFamily(f"kb_index_{name}", text)

    def collect(self) -> Iterator[Metric]:
        """The gauges; none while no knowledge base is open or it cannot be read."""
        kb = getattr(self.app.state, "kb", None)
        if kb is None:
            return
        try:
            stats = kb.stats()
        except Exception:  # a scrape must not fail because the index is unreadable
            log.warning("index gauges left out: the knowledge base cannot be read", exc_info=True)
            return
        for name, text in INDEX_GAUGES.items():
            yield GaugeMetricFamily(f"kb_index_{name}", text, value=stats[name])


def install(app: FastAPI) -> Metrics:
    """Instrument ``app``, add ``/metrics`` and return the metrics routes observe."""
    registry = CollectorRegistry()
    registry.register(IndexCollector(app))
    search_seconds = Histogram(
        "kb_search_seconds",
        "Time a search takes in the knowledge base (embedding, retrieval, ranking, snippets)",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    Instrumentator(
        should_group_status_codes=False,  # 400 vs 404 vs 422 matters; few distinct codes
        should_group_untemplated=True,  # unknown paths share one label: bounded cardinality
        registry=registry,
    ).instrument(app, latency_lowr_buckets=LATENCY_BUCKETS).expose(
        app, endpoint="/metrics", include_in_schema=False
    )
    metrics = Metrics(registry, search_seconds)
    app.state.metrics = metrics
    return metrics
