"""The web app's built assets, served by the api function on the API's own origin.

Same origin means no CORS and a Content-Security-Policy that allows nothing but this origin.
Vite puts every asset under /assets/ with a content hash in its name, so those are cached for a
year; index.html names the current hashes, so it is never cached. Any other path that does not
look like a file is an app route (/s/<id>, /new) and gets index.html too.
"""

from __future__ import annotations

from pathlib import Path

import flask
from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Response

DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
API_PREFIXES = ("/netclode.", "/healthz", "/health")

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# style-src allows inline styles because xterm.js injects its theme as a <style> element;
# scripts stay 'self' only, so injected markup still cannot run code.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def serve_web(request: flask.Request) -> Response | None:
    """The page or asset for a browser GET; None for API calls (and anything not GET/HEAD)."""
    path = request.path
    if request.method not in ("GET", "HEAD") or path.startswith(API_PREFIXES):
        return None
    if path.startswith("/assets/"):
        return _file(request, path.removeprefix("/"), IMMUTABLE)
    if "." in path.rsplit("/", 1)[-1]:
        return _file(request, path.removeprefix("/"), NO_CACHE)
    return _file(request, "index.html", NO_CACHE)


def _file(request: flask.Request, name: str, cache_control: str) -> Response:
    if not (DIST / "index.html").is_file():
        return _plain(503, "the web app is not built: run `make web`")
    try:
        response = send_from_directory(DIST, name, request.environ, max_age=None)
    except NotFound:
        return _plain(404, "not found")
    response.headers["Cache-Control"] = cache_control
    response.headers.update(SECURITY_HEADERS)
    return response


def _plain(status: int, text: str) -> Response:
    response = Response(text + "\n", status=status, mimetype="text/plain")
    response.headers.update(SECURITY_HEADERS)
    return response
