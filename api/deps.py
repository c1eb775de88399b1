"""Shared FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from search.kb import KnowledgeBase
from search.settings import Settings, get_settings

from .errors import ServiceNotReady

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base opened in the app's lifespan (503 before it is open)."""
    kb = getattr(request.app.state, "kb", None)
    if kb is None:
        raise ServiceNotReady("the knowledge base is not open yet")
    return kb


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
