"""The web pages' presentation: German templates, static files and view helpers.

The routes that serve them live with the other HTTP adapters (``api.routers.pages``);
this package imports nothing from ``api``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .views import de_date, de_time

_HERE = Path(__file__).parent

#: Jinja2 autoescaping escapes every text that comes from a document
templates = Jinja2Templates(directory=str(_HERE / "templates"))
templates.env.filters["de_date"] = de_date
templates.env.filters["de_time"] = de_time
static_files = StaticFiles(directory=str(_HERE / "static"))
