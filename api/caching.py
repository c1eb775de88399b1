"""Conditional GETs of the API: ETag and Cache-Control on answers, 304 when unchanged."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request, Response

from .deps import KBDep

#: API answers may be stored but must be revalidated: the index changes at any commit
API_CACHE_CONTROL = "no-cache"


class NotModified(Exception):
    """The client's copy is current: answer 304 with these headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers


def entity_tag(request: Request, store: str, generation: int) -> str:
    """A weak ETag of an API answer: the program's version, the index state and the request.

    Weak, since two answers at one state may differ in bytes (``took_ms``) but not in
    meaning. Any commit or store switch changes the generation and so every tag.
    """
    key = "\n".join(
        (request.app.version, store, str(generation), request.url.path, request.url.query)
    )
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    """Weak comparison of ``tag`` with an If-None-Match list (RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == opaque for t in if_none_match.split(","))


async def conditional_get(request: Request, response: Response, kb: KBDep) -> None:
    """Dependency of the API's GET routes: ETag and Cache-Control, 304 when unchanged.

    The tag is taken before the answer is built, so an answer is never tagged newer than
    the state it shows (at worst older, which costs one full answer). It runs on the
    event loop: the generation is one stat and one indexed SQLite row (microseconds),
    less than a hop to the thread pool.
    """
    store, generation = kb.generation()
    headers = {"ETag": entity_tag(request, store, generation), "Cache-Control": API_CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), headers["ETag"]):
        raise NotModified(headers)
    response.headers.update(headers)


#: OpenAPI of the conditional GET: the headers of a 200 and the 304
CONDITIONAL_RESPONSES: dict[int | str, dict] = {
    200: {
        "headers": {
            "ETag": {
                "description": "Weak tag of this answer; changes with every write to the index",
                "schema": {"type": "string"},
            },
            "Cache-Control": {
                "description": "`no-cache`: revalidate with If-None-Match",
                "schema": {"type": "string"},
            },
        }
    },
    304: {"description": "Not Modified: the `If-None-Match` tag is current"},
}


def install(app: FastAPI) -> None:
    """Answer NotModified with a bodiless 304 that keeps the tag."""

    @app.exception_handler(NotModified)
    async def not_modified(request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers=exc.headers)
