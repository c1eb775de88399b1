"""Topic search over the reports."""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from search.filters import MAX_VALUES, Filters
from search.settings import Settings

from ..auth import read_dependencies, read_problems
from ..caching import CONDITIONAL_RESPONSES, conditional_get
from ..deps import KBDep
from ..errors import problem_responses
from ..params import DATE as A_DATE
from ..params import DIGITS, ONE_VALUE_EACH
from ..schemas import SearchResponse

#: an ISO date, month or year
DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


def build_router(settings: Settings) -> APIRouter:
    """The search route, its bounds (``k``, ``offset``, ``q``) taken from ``settings`` so
    the OpenAPI schema states the limits the server enforces."""
    router = APIRouter(prefix="/api/v1", tags=["search"], dependencies=[ONE_VALUE_EACH])

    @router.get(
        "/search",
        response_model=SearchResponse,
        dependencies=[*read_dependencies(settings), Depends(conditional_get)],
        responses={
            **CONDITIONAL_RESPONSES,
            **problem_responses(400, *read_problems(settings), 422, 500, 503),
        },
    )
    def search(
        request: Request,
        response: Response,
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
        topic: Annotated[
            list[Annotated[str, Query(max_length=200)]],
            Query(
                max_length=MAX_VALUES,
                description="Only reports with any of these topics (repeatable)",
            ),
        ] = [],  # noqa: B006 - FastAPI copies defaults per request
        event: Annotated[str | None, Query(max_length=200, description="Only this event")] = None,
        organiser: Annotated[
            str | None, Query(max_length=200, description="Only this organiser")
        ] = None,
        location: Annotated[
            str | None, Query(max_length=200, description="Only this location")
        ] = None,
        date_from: Annotated[
            str | None,
            Query(pattern=DATE, description="Reports on or after this date (a year alone works)"),
            A_DATE,
        ] = None,
        date_to: Annotated[
            str | None,
            Query(pattern=DATE, description="Reports on or before this date (a year: all of it)"),
            A_DATE,
        ] = None,
        format: Annotated[  # noqa: A002 - the parameter's public name
            Literal["txt", "md", "pdf", "docx"] | None, Query(description="Only this file format")
        ] = None,
        language: Annotated[
            str | None, Query(max_length=20, description="Only this language, e.g. de")
        ] = None,
        sort: Annotated[
            Literal["relevance", "date"], Query(description="relevance, or date (newest first)")
        ] = "relevance",
        facet_limit: Annotated[
            int,
            Query(
                ge=0,
                le=1000,
                description="Values per facet, most frequent first (0: none; default: the "
                "server's KB_FACET_LIMIT)",
            ),
            DIGITS,
        ] = settings.facet_limit,
    ) -> Response:
        """Matching reports for a query, filtered and sorted; one hit per report with its
        best passage, the facets of all matching reports and links to the pages around."""
        filters = Filters(
            topics=tuple(topic),
            event=event,
            organiser=organiser,
            location=location,
            date_from=date_from,
            date_to=date_to,
            format=format,
            language=language,
        )
        found = kb.search(q, k, offset, filters=filters, sort=sort, facet_limit=facet_limit)
        request.app.state.metrics.search_seconds.observe(found.took_ms / 1000)
        data = found.to_dict()
        data["next"] = _page(request, offset + k) if offset + k < found.total else None
        data["prev"] = _page(request, max(0, offset - k)) if offset > 0 else None
        return _json(data, response)

    return router


def _json(data: dict, headers_from: Response) -> Response:
    """``data`` as the JSON answer, with the headers the dependencies set (the ETag).

    ``SearchResponse.to_dict`` builds the answer in the documented shape from typed
    fields, so it is written as it is: validating it with the response model and then
    serialising it again took about a millisecond per answer of 30-50 kB. Tests hold
    the answers to the model (``tests/api/test_schema.py``,
    ``tests/api/routers/test_search.py``).
    """
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    out = Response(body.encode(), media_type="application/json")
    out.headers.raw.extend(headers_from.headers.raw)
    return out


def _page(request: Request, offset: int) -> str:
    """This request's URL with another ``offset``."""
    return str(request.url.include_query_params(offset=offset))
