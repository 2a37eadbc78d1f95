"""Blueprint ``public``: what the web widget and the demo shop fetch, without a login: the widget bundle (CORS
open), the demo shop page and its assets, and the conversation history a reloaded widget restores
(console/public_history.py, docs/widget.md)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console import public_history
from console.web.files import DEMO_FILE, WIDGET_FILE, file_response, safe_file
from console.web.parts import Parts
from console.web.protocol import error_json


def blueprint(parts: Parts) -> Blueprint:
    bp = Blueprint("public")

    @bp.get("/widget/kefu-widget.js")
    async def widget(_request: Request) -> HTTPResponse:
        if not WIDGET_FILE.is_file():
            return error_json(404, "not_found", "the widget is not built yet (webchat/dist/kefu-widget.js)")
        response = file_response(WIDGET_FILE)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @bp.get("/demo")
    async def demo(_request: Request) -> HTTPResponse:
        if not DEMO_FILE.is_file():
            return error_json(404, "not_found", "the demo page is not there yet (webchat/demo/index.html)")
        return file_response(DEMO_FILE)

    @bp.get("/demo/<path:path>")
    async def demo_assets(_request: Request, path: str) -> HTTPResponse:
        found = safe_file(DEMO_FILE.parent, path)
        if found is None:
            return error_json(404, "not_found", "no such file")
        return file_response(found)

    public_history.register(bp, parts.settings)
    return bp
