"""Shared FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from search.kb import KnowledgeBase
from search.settings import Settings

from .errors import ServiceNotReady


async def app_settings(request: Request) -> Settings:
    """The settings the app was made with (``create_app``'s, for ``kb serve`` the
    ``KB_*`` ones). They live on the app, not in ``dependency_overrides``: while any
    override is set, FastAPI rebuilds every dependency from its signature on every
    request."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


# The dependencies below are ``async``, though they do not wait: a plain ``def`` one
# runs in the thread pool, and each hop there cost the event loop time per request.
async def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base opened in the app's lifespan (503 before it is open)."""
    kb = getattr(request.app.state, "kb", None)
    if kb is None:
        raise ServiceNotReady("the knowledge base is not open yet")
    return kb


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
