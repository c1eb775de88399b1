"""The values of metadata fields with their counts, for a portal's drop-down lists."""

from fastapi import APIRouter, Depends

from search.settings import Settings

from ..auth import read_dependencies, read_problems
from ..caching import CONDITIONAL_RESPONSES, conditional_get
from ..deps import KBDep
from ..errors import problem_responses
from ..params import ONE_VALUE_EACH
from ..schemas import FacetValue, Values


def build_router(settings: Settings) -> APIRouter:
    """The value lists; whether they need a key comes from ``settings``."""
    router = APIRouter(
        prefix="/api/v1",
        tags=["values"],
        dependencies=[ONE_VALUE_EACH, *read_dependencies(settings), Depends(conditional_get)],
        responses={
            **CONDITIONAL_RESPONSES,
            **problem_responses(*read_problems(settings), 500, 503),
        },
    )

    @router.get("/topics")
    def topics(kb: KBDep) -> Values:
        """Every topic of the reports with its number of reports, most frequent first."""
        return Values(
            values=[FacetValue(value=v.value, count=v.count) for v in kb.values("topics")]
        )

    @router.get("/events")
    def events(kb: KBDep) -> Values:
        """Every event of the reports with its number of reports, most frequent first."""
        return _values(kb, "event")

    return router


def _values(kb, field: str) -> Values:
    return Values(values=[FacetValue(value=v.value, count=v.count) for v in kb.values(field)])
