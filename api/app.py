"""The FastAPI application: the JSON API under /api/v1, the web pages, docs and probes."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from search.kb import KnowledgeBase
from search.settings import Settings, get_settings
from ui import static_files

from . import caching, docs, errors, metrics, middleware
from .routers import changes, curation, documents, health, pages, search, values
from .sessions import Sessions, load_secret


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the app.

    ``settings`` replace the environment-derived ones (tests, CLI); their limits are
    part of the OpenAPI schema. ``kb`` is an open knowledge base to serve (the CLI opens
    it once, so the model loads once); without it the lifespan opens one from the
    settings and closes it at shutdown.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        owned = kb is None
        served = kb or KnowledgeBase.open(settings)
        try:
            served.warm_up()
            secret = load_secret(settings, served.folder)
            app.state.sessions = Sessions(secret, settings.session_minutes)
            app.state.kb = served
            app.state.model_ready = True
            yield
        finally:
            app.state.kb = None
            app.state.model_ready = False
            if owned:
                served.close()

    app = FastAPI(
        title="Berichte-Wissensbasis",
        summary="Semantic search over event reports of regional industry initiatives",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by api.docs without a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.kb = None
    app.state.sessions = None
    app.state.settings = settings  # served by api.deps.app_settings
    errors.install(app)
    caching.install(app)
    app.include_router(health.router)
    app.include_router(search.build_router(settings))
    app.include_router(documents.build_router(settings))
    app.include_router(values.build_router(settings))
    app.include_router(changes.build_router(settings))
    app.include_router(pages.build_router(settings))
    app.add_exception_handler(pages.SignInFirst, pages.sign_in_redirect)
    app.include_router(curation.router)
    app.add_exception_handler(curation.Refused, curation.refused)
    app.mount("/static", static_files, name="static")
    docs.install(app)
    metrics.install(app)  # innermost middleware: sees each request as routed
    middleware.install(app, settings)
    return app


def app_from_environment() -> FastAPI:
    """The app of one worker of ``kb serve --workers N``: settings from ``KB_*``."""
    return create_app(get_settings())
