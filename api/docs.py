"""The API documentation at ``/docs``: Swagger UI served from this server, never a CDN.

The Swagger UI files come from the PyPI package ``fastapi-offline`` (its ``static``
folder); the page and its start script from ``ui``.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from ui import templates

#: where the Swagger UI files are served
ASSETS_PATH = "/assets/swagger-ui"
SWAGGER_UI_FILES = files("fastapi_offline") / "static"


def install(app: FastAPI) -> None:
    """Serve the Swagger UI files and the ``/docs`` page on ``app``.

    Create ``app`` with ``docs_url=None, redoc_url=None``: FastAPI's own pages load
    their files from a CDN and start Swagger UI with an inline script.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=str(SWAGGER_UI_FILES)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        context = {
            "title": app.title,
            "assets": root + ASSETS_PATH,
            "openapi_url": root + (app.openapi_url or "/openapi.json"),
            "init_script": root + app.url_path_for("static", path="docs.js"),
        }
        return templates.TemplateResponse(request, "docs.html", context)
