"""Shared FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from search.kb import KnowledgeBase
from search.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base opened in the app's lifespan."""
    return request.app.state.kb


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
