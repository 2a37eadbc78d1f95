"""Blueprint ``pages``: the console's HTML pages (``/login``, ``/console``, ``/dashboard``, ``/admin``; all but the
login redirect to it without a session; the dashboard's and the administration's data are for supervisors only)
and their static files."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from console.web.files import STATIC_DIR, TEMPLATES_DIR, file_response, safe_file
from console.web.guards import Guards, Handler
from console.web.protocol import error_json


def blueprint(guards: Guards) -> Blueprint:
    bp = Blueprint("pages")

    def page(name: str, needs_login: bool) -> Handler:
        async def handler(request: Request) -> HTTPResponse:
            if needs_login and guards.current(request) is None:
                return redirect("/login")
            path = safe_file(TEMPLATES_DIR, name)
            if path is None:
                return error_json(404, "not_found", f"console/templates/{name} is not there yet")
            return file_response(path, page=True)
        handler.__name__ = f"page_{name.split('.')[0]}"
        return handler

    bp.add_route(page("login.html", False), "/login", methods=["GET"])
    bp.add_route(page("console.html", True), "/console", methods=["GET"])
    bp.add_route(page("dashboard.html", True), "/dashboard", methods=["GET"])
    bp.add_route(page("admin.html", True), "/admin", methods=["GET"])

    @bp.get("/")
    async def root(_request: Request) -> HTTPResponse:
        return redirect("/console")

    @bp.get("/static/<path:path>")
    async def static(_request: Request, path: str) -> HTTPResponse:
        found = safe_file(STATIC_DIR, path)
        if found is None:
            return error_json(404, "not_found", "no such file")
        return file_response(found)

    return bp
