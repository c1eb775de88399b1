"""Middleware of every answer: HEAD like GET, security headers, CORS for allowed origins."""

from __future__ import annotations

from fastapi import FastAPI
from secure import (
    ContentSecurityPolicy,
    ReferrerPolicy,
    Secure,
    XContentTypeOptions,
    XFrameOptions,
)
from secure.middleware import SecureASGIMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search.settings import Settings

#: One policy for every answer. The pages and the API docs load scripts and styles only
#: from this origin (no inline script or style, no CDN); nobody may frame them.
SECURITY = Secure(
    csp=ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'")
    .style_src("'self'")
    .img_src("'self'", "data:")
    .object_src("'none'")
    .base_uri("'none'")
    .form_action("'self'")
    .frame_ancestors("'none'"),
    referrer=ReferrerPolicy().no_referrer(),
    xcto=XContentTypeOptions(),
    xfo=XFrameOptions().deny(),
)


class HeadAsGet:
    """Answers HEAD wherever GET is answered: the GET's status and headers, no body.

    Starlette's routes leave HEAD to the route's methods and FastAPI's ``@get`` lists
    only GET; HTTP says a server that answers GET answers HEAD the same way.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # a copy: the server keeps its own scope and so knows to send no body
        await self.app({**scope, "method": "GET"}, receive, headers_only)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware to ``app``; the last added runs outermost."""
    app.add_middleware(HeadAsGet)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            # reads, and the changes a curator's key may make from a portal's page
            allow_methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["If-None-Match", "Authorization", "Content-Type"],
            expose_headers=["ETag", "Location"],
            max_age=600,
        )
    app.add_middleware(SecureASGIMiddleware, secure=SECURITY)
