"""The pages a browser opens, served with every asset by the gateway itself, never a CDN:
Swagger UI at ``/docs`` (from the swagger-ui-bundle package), the files vendored in
``gateway/static`` (GraphiQL's, see scripts/vendor-assets) and the web console at ``/console``."""

from __future__ import annotations

from pathlib import Path

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from shared.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_ASSETS = "/docs/assets"
CONSOLE = "/console"


async def swagger_page(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="llm-gateway API",
        swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
        # "Authorize" once: the key is kept in the page's storage across reloads.
        swagger_ui_parameters={"persistAuthorization": True},
    )


async def to_console(request: Request) -> Response:
    return RedirectResponse(f"{CONSOLE}/")


def page_routes(settings: Settings) -> list[BaseRoute]:
    """Routes of the docs, the vendored assets and (unless turned off) the console."""
    routes: list[BaseRoute] = [
        Route("/docs", swagger_page, methods=["GET"]),
        Mount(SWAGGER_ASSETS, StaticFiles(directory=str(swagger_ui_path))),
        Mount("/static/vendor", StaticFiles(directory=STATIC_DIR / "vendor")),
    ]
    if settings.console:
        routes += [
            Route(CONSOLE, to_console, methods=["GET"]),
            Mount(CONSOLE, StaticFiles(directory=STATIC_DIR / "console", html=True)),
        ]
    return routes
