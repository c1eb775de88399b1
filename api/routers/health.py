"""Liveness and readiness."""

from fastapi import APIRouter

from ..deps import KBDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(kb: KBDep) -> dict:
    """Service is up and the index is open; includes document and chunk counts."""
    stats = kb.stats()
    return {
        "status": "ok",
        "documents": stats["documents"],
        "chunks": stats["chunks"],
        "embedder": stats["embedder"],
    }
