"""The FastAPI application: JSON API under /api/v1, the web page at /."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from search.errors import (
    DocumentNotFound,
    EmbedderMismatch,
    EmbedderUnavailable,
    IndexNotFound,
    InvalidQuery,
    KBError,
)
from search.kb import KnowledgeBase
from search.settings import Settings, get_settings

from .routers import documents, health, search

_STATUS = {
    InvalidQuery: 400,
    DocumentNotFound: 404,
    IndexNotFound: 503,
    EmbedderMismatch: 503,
    EmbedderUnavailable: 503,
}


def _resolve_settings(app: FastAPI) -> Settings:
    return app.dependency_overrides.get(get_settings, get_settings)()


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the knowledge base (and load the model) once per process."""
    settings = _resolve_settings(app)
    kb = KnowledgeBase.open(settings)
    kb.warm_up()
    app.state.kb = kb
    try:
        yield
    finally:
        kb.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` replace the environment-derived ones (tests, CLI)."""
    from ui.pages import router as ui_router
    from ui.pages import static_files

    app = FastAPI(
        title="Berichte-Wissensbasis",
        summary="Semantic search over event reports of regional industry initiatives",
        version="0.1.0",
        lifespan=lifespan,
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings

    @app.exception_handler(KBError)
    async def kb_error(request: Request, exc: KBError) -> JSONResponse:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # one readable line first; the structured list stays for programs
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        message = f"{where}: {first.get('msg', 'invalid request')}"
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in errors
        ]
        return JSONResponse({"detail": message, "errors": details}, status_code=422)

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(ui_router)
    app.mount("/static", static_files, name="static")
    return app
