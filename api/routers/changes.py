"""The change log: who changed which report when, with its metadata before and after."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from search.settings import Settings

from ..auth import read_dependencies, read_problems
from ..caching import CONDITIONAL_RESPONSES, conditional_get
from ..deps import KBDep
from ..errors import problem_responses
from ..params import DIGITS, ONE_VALUE_EACH
from ..schemas import ChangeList

#: SQLite's largest integer
MAX_OFFSET = 2**63 - 1


def build_router(settings: Settings) -> APIRouter:
    """``GET /api/v1/changes``; a read like the others (a key only if reads need one)."""
    router = APIRouter(prefix="/api/v1", tags=["changes"], dependencies=[ONE_VALUE_EACH])

    @router.get(
        "/changes",
        dependencies=[*read_dependencies(settings), Depends(conditional_get)],
        responses={
            **CONDITIONAL_RESPONSES,
            **problem_responses(*read_problems(settings), 422, 500, 503),
        },
    )
    def list_changes(
        kb: KBDep,
        offset: Annotated[
            int, Query(ge=0, le=MAX_OFFSET, description="Skip this many changes"), DIGITS
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=200, description="Changes per page"), DIGITS] = 50,
    ) -> ChangeList:
        """Every change to the reports, newest first: who (the key's name, or
        `cli:<user>`), what, when, and the metadata before and after (paged)."""
        total, rows = kb.changes(offset, limit)
        return ChangeList(total=total, offset=offset, limit=limit, changes=rows)

    return router
