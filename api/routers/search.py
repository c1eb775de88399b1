"""Topic search over the reports."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from search.settings import Settings

from ..auth import read_dependencies, read_problems
from ..caching import CONDITIONAL_RESPONSES, conditional_get
from ..deps import KBDep
from ..errors import problem_responses
from ..params import DIGITS
from ..schemas import SearchResponse


def build_router(settings: Settings) -> APIRouter:
    """The search route, its bounds (``k``, ``offset``, ``q``) taken from ``settings`` so
    the OpenAPI schema states the limits the server enforces."""
    router = APIRouter(prefix="/api/v1", tags=["search"])

    @router.get(
        "/search",
        dependencies=[*read_dependencies(settings), Depends(conditional_get)],
        responses={
            **CONDITIONAL_RESPONSES,
            **problem_responses(400, *read_problems(settings), 422, 500, 503),
        },
    )
    def search(
        request: Request,
        kb: KBDep,
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=settings.max_query_chars,
                description="Topic or question, German or English. It needs a visible "
                "character: one of only blanks or invisible characters (NUL, zero-width "
                "space) is refused with 400 `query_empty`",
                examples=["Wasserstoff", "skilled workers"],
            ),
        ],
        k: Annotated[
            int, Query(ge=1, le=settings.max_k, description="Number of reports to return"), DIGITS
        ] = settings.default_k,
        offset: Annotated[
            int,
            Query(ge=0, le=settings.max_offset, description="Skip this many reports (paging)"),
            DIGITS,
        ] = 0,
    ) -> SearchResponse:
        """Reports for a query, best first; one hit per report with its best passage."""
        response = kb.search(q, k, offset)
        request.app.state.metrics.search_seconds.observe(response.took_ms / 1000)
        return SearchResponse.model_validate(response.to_dict())

    return router
