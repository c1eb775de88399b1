"""Topic search over the reports."""

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import KBDep

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search")
def search(
    kb: KBDep,
    q: Annotated[str, Query(description="Topic or question, German or English")] = "",
    k: Annotated[int | None, Query(description="Number of reports to return")] = None,
    offset: Annotated[int, Query(description="Skip this many reports (paging)")] = 0,
) -> dict:
    """Reports for a query, best first; one hit per report with its best passage."""
    return kb.search(q, k, offset).to_dict()
