"""The OpenAI auth stand-in refuses what the real issuer refuses: a test that passes against
it proves the proxy sends exactly the Codex CLI's requests, not merely some requests."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.support.openai_auth_standin import CLIENT_ID, OpenAIAuthStandIn

USERCODE = "/api/accounts/deviceauth/usercode"
POLL = "/api/accounts/deviceauth/token"


@pytest.fixture
def auth() -> Iterator[OpenAIAuthStandIn]:
    standin = OpenAIAuthStandIn()
    yield standin
    standin.stop()


def _post(auth: OpenAIAuthStandIn, path: str, **kw) -> httpx.Response:
    return httpx.post(f"{auth.url}{path}", timeout=10, **kw)


def _approved_code(auth: OpenAIAuthStandIn) -> dict:
    device = _post(auth, USERCODE, json={"client_id": CLIENT_ID}).json()
    poll = {"device_auth_id": device["device_auth_id"], "user_code": device["user_code"]}
    assert _post(auth, POLL, json=poll).status_code == 403  # not approved yet
    auth.approve(device["user_code"])
    answer = _post(auth, POLL, json=poll)
    assert answer.status_code == 200
    assert _post(auth, POLL, json=poll).status_code == 400  # collected once only
    return answer.json()


def _exchange(auth: OpenAIAuthStandIn, code: dict, **override: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code["authorization_code"],
        "redirect_uri": f"{auth.url}/deviceauth/callback",
        "client_id": CLIENT_ID,
        "code_verifier": code["code_verifier"],
    } | override
    return _post(auth, "/oauth/token", data=form)


def test_device_codes_need_the_codex_client_and_expire(auth: OpenAIAuthStandIn):
    assert _post(auth, USERCODE, json={"client_id": "app_other"}).status_code == 400
    assert _post(auth, USERCODE, data={"client_id": CLIENT_ID}).status_code == 415
    auth.code_ttl_s = 0
    device = _post(auth, USERCODE, json={"client_id": CLIENT_ID}).json()
    assert isinstance(device["interval"], str)  # as the real issuer sends it
    poll = {"device_auth_id": device["device_auth_id"], "user_code": device["user_code"]}
    assert _post(auth, POLL, json=poll).status_code == 410
    wrong = {"device_auth_id": device["device_auth_id"], "user_code": "XXXX-XXXXXX"}
    assert _post(auth, POLL, json=wrong).status_code == 400


def test_code_exchange_checks_client_redirect_and_pkce(auth: OpenAIAuthStandIn):
    code = _approved_code(auth)
    digest = hashlib.sha256(code["code_verifier"].encode()).digest()
    assert code["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert _exchange(auth, code, client_id="app_other").status_code == 401
    assert _exchange(auth, code, redirect_uri="http://127.0.0.1:1/cb").status_code == 400
    assert _exchange(auth, code, code_verifier="not-the-verifier").status_code == 400
    assert _exchange(auth, code, grant_type="password").status_code == 400
    tokens = _exchange(auth, code)
    assert tokens.status_code == 200
    assert set(tokens.json()) == {"id_token", "access_token", "refresh_token"}
    assert _exchange(auth, code).status_code == 400  # a code is used once


def test_refresh_rotates_and_refuses_reuse(auth: OpenAIAuthStandIn):
    first = _exchange(auth, _approved_code(auth)).json()["refresh_token"]

    def refresh(token: str, client: str = CLIENT_ID) -> httpx.Response:
        body = {"client_id": client, "grant_type": "refresh_token", "refresh_token": token}
        return _post(auth, "/oauth/token", json=body)

    assert refresh(first, client="app_other").status_code == 401
    rotated = refresh(first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    reused = refresh(first)
    assert (reused.status_code, reused.json()["error"]["code"]) == (401, "refresh_token_reused")
    assert refresh("rt_never_issued").json()["error"]["code"] == "refresh_token_invalidated"
    assert refresh(second).status_code == 200
