"""Preview ports on the real local stack: a page and a WebSocket served in the sandbox reach
a loopback URL on the host, survive pause/resume, and stop after unexpose."""

from __future__ import annotations

import time

import httpx
import pytest
from connectrpc.errors import ConnectError

from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.ports.websocket import ECHO_SERVER, echo_once
from tests.support.stack import Client

pytestmark = pytest.mark.sandbox

S = common_pb2
PAGE_PORT, WS_PORT = 8000, 8001
PAGE = "<h1>hello from the sandbox</h1>\n"


def start_servers(api: Client, session_id: str) -> None:
    """A static page (python3 -m http.server) and a WebSocket echo, in the background."""
    write = f"printf '%s' '{PAGE}' > index.html"
    assert api.exec(session_id, "sh", "-c", write).exit_code == 0
    background = "setsid {} >/dev/null 2>&1 </dev/null &"
    page = background.format(f"python3 -m http.server {PAGE_PORT} --bind 127.0.0.1")
    echo = background.format(f'python3 -c "$1" {WS_PORT}')
    assert api.exec(session_id, "sh", "-c", page).exit_code == 0
    assert api.exec(session_id, "sh", "-c", echo, "sh", ECHO_SERVER).exit_code == 0


def fetch(url: str, timeout: float = 15.0) -> httpx.Response:
    """GETs the preview URL, waiting (bounded) for the server inside to start listening."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def echo(url: str, text: str, timeout: float = 15.0) -> str:
    """One WebSocket echo over the preview, waiting (bounded) for the server inside to start:
    until then the forwarder closes the connection during the handshake."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return echo_once(url, text)
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def expose(api: Client, session_id: str, port: int) -> str:
    request = api_pb2.ExposePortRequest(session_id=session_id, port=port)
    return api(api.sessions.expose_port, request).port.preview_url


def listed(api: Client, session_id: str) -> dict[int, str]:
    reply = api(api.sessions.list_ports, api_pb2.ListPortsRequest(session_id=session_id))
    return {p.port: p.preview_url for p in reply.ports}


def port_events(api: Client, session_id: str) -> list[tuple[str, int]]:
    out = []
    for entry in api.entries(session_id).entries:
        if entry.event.kind == events_pb2.AGENT_EVENT_KIND_PORT_EXPOSED:
            out.append(("exposed", entry.event.port_exposed.port))
        elif entry.event.kind == events_pb2.AGENT_EVENT_KIND_PORT_UNEXPOSED:
            out.append(("unexposed", entry.event.port_unexposed.port))
    return out


def test_preview_serves_page_and_websocket_across_pause_and_resume(api: Client) -> None:
    session = api.ready(name="preview")
    start_servers(api, session.id)
    page_url, ws_url = expose(api, session.id, PAGE_PORT), expose(api, session.id, WS_PORT)
    assert page_url.startswith("http://127.0.0.1:") and page_url != ws_url
    assert fetch(page_url).text == PAGE
    assert echo(ws_url, "ping over the preview") == "ping over the preview"
    assert listed(api, session.id) == {PAGE_PORT: page_url, WS_PORT: ws_url}
    assert port_events(api, session.id) == [("exposed", PAGE_PORT), ("exposed", WS_PORT)]

    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    with pytest.raises(httpx.HTTPError):
        httpx.get(page_url, timeout=2)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    start_servers(api, session.id)  # processes do not survive a pause; the ports do
    urls = listed(api, session.id)
    assert set(urls) == {PAGE_PORT, WS_PORT}
    assert fetch(urls[PAGE_PORT]).text == PAGE
    assert echo(urls[WS_PORT], "after resume") == "after resume"

    request = api_pb2.UnexposePortRequest(session_id=session.id, port=PAGE_PORT)
    api(api.sessions.unexpose_port, request)
    with pytest.raises(httpx.HTTPError):
        httpx.get(urls[PAGE_PORT], timeout=2)
    assert listed(api, session.id) == {WS_PORT: urls[WS_PORT]}
    assert port_events(api, session.id)[-1] == ("unexposed", PAGE_PORT)


@pytest.mark.parametrize(
    ("port", "problem"),
    [(0, "between 1 and 65535"), (70000, "between 1 and 65535"), (8080, "auth-proxy")],
)
def test_bad_ports_are_refused(api: Client, port: int, problem: str) -> None:
    session = api.ready(name="bad-port")
    with pytest.raises(ConnectError) as info:
        expose(api, session.id, port)
    assert info.value.code.value == "invalid_argument"
    assert problem in info.value.message


def test_unexposing_a_port_never_exposed_is_not_found(api: Client) -> None:
    session = api.ready(name="never")
    request = api_pb2.UnexposePortRequest(session_id=session.id, port=5000)
    with pytest.raises(ConnectError) as info:
        api(api.sessions.unexpose_port, request)
    assert info.value.code.value == "not_found"
