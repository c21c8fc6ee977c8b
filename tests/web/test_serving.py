"""The api function serves the built web app on its own origin, with caching and security
headers, without getting in the way of the API."""

from __future__ import annotations

import re

import httpx

from tests.support.stack import Stack


def get(stack: Stack, path: str) -> httpx.Response:
    return httpx.get(stack.api_url + path, timeout=10)


def test_app_routes_get_index_html_uncached_with_a_strict_csp(stack: Stack) -> None:
    for path in ("/", "/new", "/s/some-session"):
        page = get(stack, path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert '<div id="app">' in page.text


def test_hashed_assets_are_immutable_and_missing_files_are_404(stack: Stack) -> None:
    index = get(stack, "/").text
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', index)
    assert scripts, "index.html names no script"
    asset = get(stack, scripts[0])
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    for missing in ("/assets/nope-123.js", "/favicon.ico", "/assets/../../webapp.py"):
        assert get(stack, missing).status_code == 404, missing


def test_api_calls_still_reach_the_api(stack: Stack) -> None:
    url = stack.api_url + "/netclode.v1.TokenService/WhoAmI"
    answer = httpx.post(url, json={}, headers={"Authorization": f"Bearer {stack.admin_token}"})
    assert answer.status_code == 200 and answer.json()["token"]["name"]
    refused = httpx.post(url, json={})
    assert refused.status_code == 401
