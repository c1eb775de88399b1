"""Domain errors to HTTP answers: one table, JSON ``{"detail", "code"}``.

An error the table does not name is a server fault: a 500 whose body shows no internals
(the log has them).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from search.errors import (
    AnalyzerMismatch,
    DocumentNotFound,
    EmbedderMismatch,
    EmbedderUnavailable,
    IndexBusy,
    IndexFormatError,
    IndexNotFound,
    InvalidQuery,
    KBError,
)

log = logging.getLogger(__name__)

#: HTTP status of each domain error a client can cause or must wait out
STATUS: dict[type[KBError], int] = {
    InvalidQuery: 400,
    DocumentNotFound: 404,
    IndexBusy: 503,
    IndexNotFound: 503,
    IndexFormatError: 503,
    EmbedderMismatch: 503,
    AnalyzerMismatch: 503,
    EmbedderUnavailable: 503,
}


def status_of(exc: KBError) -> int:
    """The HTTP status for a domain error; 500 for one no client can cause."""
    return next((s for t, s in STATUS.items() if isinstance(exc, t)), 500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(KBError)
    async def domain_error(request: Request, exc: KBError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        detail = str(exc) if status < 500 or status == 503 else "internal error"
        return JSONResponse({"detail": detail, "code": exc.code}, status_code=status)

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
        return JSONResponse(
            {"detail": message, "code": "invalid_request", "errors": details}, status_code=422
        )
