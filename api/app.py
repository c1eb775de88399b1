"""The FastAPI application: the JSON API under /api/v1 and the web pages."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from search.kb import KnowledgeBase
from search.settings import Settings, get_settings
from ui import static_files

from . import errors
from .routers import documents, health, pages, search


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the app.

    ``settings`` replace the environment-derived ones (tests, CLI). ``kb`` is an open
    knowledge base to serve (the CLI opens it once, so the model loads once); without
    it the lifespan opens one from the settings and closes it at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        owned = kb is None
        served = kb or KnowledgeBase.open(
            app.dependency_overrides.get(get_settings, get_settings)()
        )
        served.warm_up()
        app.state.kb = served
        try:
            yield
        finally:
            if owned:
                served.close()

    app = FastAPI(
        title="Berichte-Wissensbasis",
        summary="Semantic search over event reports of regional industry initiatives",
        version="0.1.0",
        lifespan=lifespan,
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    errors.install(app)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(pages.router)
    app.mount("/static", static_files, name="static")
    return app
