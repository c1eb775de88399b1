"""Liveness (``/healthz``) and readiness (``/readyz``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response

from search.embedders import UnloadedEmbedder

from ..deps import KBDep
from ..errors import problem, problem_responses
from ..schemas import Health, Readiness, ReadinessChecks

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

#: probes must see the state now, never a cached one
NO_STORE = "no-store"


@router.get("/healthz", responses=problem_responses(500, 503))
def healthz(kb: KBDep, response: Response) -> Health:
    """Liveness: the service is up and the index is open; with document and chunk counts."""
    response.headers["Cache-Control"] = NO_STORE
    stats = kb.stats()
    return Health(
        status="ok",
        documents=stats["documents"],
        chunks=stats["chunks"],
        embedder=stats["embedder"],
    )


@router.get("/readyz", responses=problem_responses(503))
def readyz(request: Request, response: Response) -> Readiness:
    """Readiness: the knowledge base is open, the model loaded and the store readable.

    503 (problem+json with ``checks``) otherwise, so a load balancer sends no searches.
    """
    kb = getattr(request.app.state, "kb", None)
    model = (
        kb is not None
        and getattr(request.app.state, "model_ready", False)
        and not isinstance(kb.embedder, UnloadedEmbedder)
    )
    generation = None
    if kb is not None:
        try:
            generation = kb.generation()[1]
        except Exception:  # any failure to read means: not ready; the log says why
            log.warning("readiness: the store cannot be read", exc_info=True)
    checks = ReadinessChecks(
        knowledge_base=kb is not None, model=model, store=generation is not None
    )
    if not all(checks.model_dump().values()):
        failed = ", ".join(name for name, ok in checks.model_dump().items() if not ok)
        return problem(
            503,
            "not_ready",
            f"not ready: {failed}",
            headers={"Cache-Control": NO_STORE},
            checks=checks,
        )
    response.headers["Cache-Control"] = NO_STORE
    return Readiness(status="ready", checks=checks, generation=generation)
