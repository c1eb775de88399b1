"""Reports: metadata and full text."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ..caching import CONDITIONAL_RESPONSES, conditional_get
from ..deps import KBDep
from ..errors import problem_responses
from ..params import DIGITS
from ..schemas import Document, DocumentList, SimilarReport, SimilarReports

#: SQLite's largest integer: a deeper offset cannot be passed to the store
MAX_OFFSET = 2**63 - 1

router = APIRouter(
    prefix="/api/v1/documents",
    tags=["documents"],
    dependencies=[Depends(conditional_get)],
    responses=CONDITIONAL_RESPONSES,
)


@router.get("", responses=problem_responses(422, 500, 503))
def list_documents(
    kb: KBDep,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Skip this many reports"), DIGITS
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="Reports per page"), DIGITS] = 50,
) -> DocumentList:
    """Reports' metadata, newest report date first (paged)."""
    stats = kb.stats()
    return DocumentList(
        total=stats["documents"],
        offset=offset,
        limit=limit,
        documents=kb.list_documents(offset, limit),
    )


@router.get("/{doc_id}", responses=problem_responses(404, 422, 500, 503))
def get_document(
    doc_id: Annotated[
        str,
        Path(
            description="Document id, as in a search hit",
            examples=["wasserstoff-forum-emsland-2019"],
        ),
    ],
    kb: KBDep,
) -> Document:
    """One report: metadata and full text."""
    return Document.model_validate(kb.get_document(doc_id))


@router.get("/{doc_id}/similar", responses=problem_responses(404, 422, 500, 503))
def similar_documents(
    doc_id: Annotated[str, Path(description="Document id, as in a search hit")],
    kb: KBDep,
    k: Annotated[int, Query(ge=1, le=100, description="Number of reports"), DIGITS] = 5,
) -> SimilarReports:
    """Reports close to this one (by their mean passage vectors), best first."""
    found = kb.similar(doc_id, k)
    return SimilarReports(id=doc_id, results=[SimilarReport.model_validate(r) for r in found])
