"""Reports: metadata and full text."""

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import KBDep

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


@router.get("")
def list_documents(
    kb: KBDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    """Reports' metadata, newest report date first (paged)."""
    stats = kb.stats()
    return {
        "total": stats["documents"],
        "offset": offset,
        "limit": limit,
        "documents": kb.list_documents(offset, limit),
    }


@router.get("/{doc_id}")
def get_document(doc_id: str, kb: KBDep) -> dict:
    """One report: metadata and full text."""
    return kb.get_document(doc_id)
