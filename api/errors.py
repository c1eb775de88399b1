"""Errors to HTTP answers: every error is ``application/problem+json`` (RFC 9457).

Domain errors map to a status by one table and keep their ``code``; bad parameters are a
422 whose ``detail`` names each one and whose ``errors`` list them; anything unexpected is
a 500 whose body shows no internals (the log has them).
"""

from __future__ import annotations

import http
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from search.errors import (
    AnalyzerMismatch,
    DocumentNotFound,
    EmbedderMismatch,
    EmbedderUnavailable,
    IndexBusy,
    IndexFormatError,
    IndexNotFound,
    InvalidDocument,
    InvalidQuery,
    KBError,
)

from .middleware import SECURITY
from .schemas import Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: HTTP status of each domain error a client can cause or must wait out
STATUS: dict[type[KBError], int] = {
    InvalidQuery: 400,
    DocumentNotFound: 404,
    InvalidDocument: 422,
    IndexBusy: 503,
    IndexNotFound: 503,
    IndexFormatError: 503,
    EmbedderMismatch: 503,
    AnalyzerMismatch: 503,
    EmbedderUnavailable: 503,
}

#: what each documented error status means for this API (the OpenAPI descriptions)
DESCRIPTIONS = {
    400: "Unusable query (e.g. `query_empty`: only blanks or invisible characters), or a "
    "body that cannot be parsed (`malformed_body` for multipart, `bad_request` for JSON)",
    401: "No API key (`key_missing`), or an unknown or revoked one (`key_invalid`); send "
    "`Authorization: Bearer <key>` (header `WWW-Authenticate` says so)",
    403: "The key may not do this: changes need a curator key (`curator_required`)",
    404: "No report with this id (`document_not_found`), or no original file kept for it "
    "(`original_not_found`)",
    413: "Request body too large: a file over `KB_MAX_FILE_BYTES` (`too_large`, refused "
    "while it streams in), more files than `KB_MAX_UPLOAD_FILES` (`too_many_files`), or "
    "too many or too long form fields (`too_many_fields`, `field_too_large`)",
    415: "Unsupported media type: the body is not `multipart/form-data` "
    "(`unsupported_media_type`), or an uploaded file's type, judged by its bytes, is not "
    "supported (`unsupported_type`, `type_mismatch`)",
    422: "Invalid parameter (`invalid_request`; `errors` names each one) or metadata field "
    "(`invalid_field`, `unknown_field`), or no uploaded file could be read (e.g. "
    "`encrypted`, `damaged`, `no_text`, `archive_too_large`; `files` gives each file's "
    "reason in English and German)",
    500: "Unexpected server fault (`internal_error`); the body shows no internals",
    503: "Knowledge base unavailable: a writer holds it too long (`index_busy`), or it "
    "cannot be opened (e.g. `index_not_found`, `embedder_mismatch`)",
}


#: RFC 9110's reason phrases where older Pythons' ``http.HTTPStatus`` still has RFC 7231's
TITLES = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}


class ServiceNotReady(Exception):
    """The app has no open knowledge base (its start-up has not run or has failed)."""


class ProblemError(Exception):
    """An adapter's refusal (a missing key, a body too large): answered as a problem.

    ``extra`` members (e.g. ``files``) are added to the problem.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def status_of(exc: KBError) -> int:
    """The HTTP status for a domain error; 500 for one no client can cause."""
    return next((s for t, s in STATUS.items() if isinstance(exc, t)), 500)


def title_of(status: int) -> str:
    """The title of a problem: the status's reason phrase (RFC 9110)."""
    return TITLES.get(status) or http.HTTPStatus(status).phrase


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the Problem answers a route can give."""
    return {status: {"model": Problem, "description": DESCRIPTIONS[status]} for status in statuses}


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json answer; ``extra`` members (e.g. ``errors``) are added when not None."""
    body = Problem(title=title_of(status), status=status, detail=detail, code=code, **extra)
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True, exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def describe(error: dict) -> dict:
    """One pydantic validation error as a ParameterError: a line naming the parameter."""
    loc = [str(p) if not isinstance(p, int) else p for p in error.get("loc", ())]
    where = loc[0] if loc else "request"
    name = ".".join(str(p) for p in loc[1:]) or str(where)
    kind = error.get("type", "value_error")
    ctx = error.get("ctx") or {}
    templates = {
        "missing": "{name} is required",
        "greater_than_equal": "{name} must be at least {ge}",
        "less_than_equal": "{name} must be at most {le}",
        "greater_than": "{name} must be greater than {gt}",
        "less_than": "{name} must be less than {lt}",
        "int_parsing": "{name} must be an integer",
        "int_type": "{name} must be an integer",
        "multiple_values": "{name} takes one value; it was given more than once",
        "string_too_long": "{name} is too long (at most {max_length} characters)",
        "string_too_short": "{name} is empty"
        if ctx.get("min_length") == 1
        else "{name} is too short (at least {min_length} characters)",
    }
    template = templates.get(kind)
    try:
        detail = template.format(name=name, **ctx) if template else None
    except (KeyError, IndexError):
        detail = None
    return {
        "name": name,
        "in": where,
        "detail": detail or f"{name}: {error.get('msg', 'invalid value')}",
        "type": kind,
        "loc": loc,
        "msg": str(error.get("msg", "")),
    }


def install(app: FastAPI) -> None:
    """Register the handlers on ``app`` and document problem+json in its OpenAPI schema."""

    @app.exception_handler(KBError)
    async def domain_error(request: Request, exc: KBError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        if status == 500:
            return problem(500, "internal_error", "internal error")
        if status == 503:
            # the message names server folders and processes: the log keeps it
            if isinstance(exc, IndexBusy):
                detail = "the knowledge base is busy with a write; try again shortly"
                return problem(503, exc.code, detail, headers={"Retry-After": "5"})
            return problem(503, exc.code, "the knowledge base is unavailable")
        return problem(status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [describe(e) for e in exc.errors()]
        detail = "; ".join(e["detail"] for e in errors) or "invalid request"
        return problem(422, "invalid_request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # unknown paths (404) and methods (405, with its Allow header)
        phrase = title_of(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        if exc.status_code in (404, 405) and detail == phrase:
            detail = f"{phrase}: {request.method} {request.url.path}"
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return problem(exc.status_code, code, detail, headers=headers)

    @app.exception_handler(ProblemError)
    async def refused(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(ServiceNotReady)
    async def not_ready(request: Request, exc: ServiceNotReady) -> JSONResponse:
        return problem(503, "not_ready", str(exc))

    @app.exception_handler(Exception)
    async def server_fault(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this outside the middleware: add the security headers here
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal_error", "internal error", headers=dict(SECURITY.headers))

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _problems_as_problem_json(schema)
        return app.openapi_schema

    app.openapi = openapi


#: the methods a route of this app may answer
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path.

    Starlette's 405 names only the methods of the first route whose path matched; a path
    with a GET and a POST route (``/api/v1/documents``) needs all of them in ``Allow``.
    Each method is tried against the routes (like the schema, ``Allow`` leaves out HEAD,
    which is answered wherever GET is).
    """
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def _problems_as_problem_json(schema: dict) -> dict:
    """Error answers are documented as ``application/problem+json``, not ``application/json``.

    FastAPI puts every response model under the route's media type; ours differ for errors.
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return schema
