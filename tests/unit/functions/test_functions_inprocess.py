"""The functions as functions-framework serves them, in this process (its Flask test client):
what a caller without the right credentials, or with a malformed event, gets back. Calls
that reach the store use the suite's real Valkey."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from functions_framework import create_app

import netclode
from netclode.functions import api, ingest, webhook
from netclode.github import signature
from netclode_protocol import keys
from netclode_protocol.v1 import agent_pb2, api_pb2

SOURCE = Path(netclode.__file__).parents[1] / "main.py"
SECRET = "webhook-secret"
PROTO = {"Content-Type": "application/proto"}


# What each function builds once per process from its environment.
CACHED = (webhook._github_settings, api._session_service, api._application, ingest._application)


@pytest.fixture
def functions_env(monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_url: str):
    """The environment a function process would get; each function reads it afresh."""
    monkeypatch.setenv("NETCLODE_REDIS_URL", redis_url)
    monkeypatch.setenv("NETCLODE_GITHUB_WEBHOOK_SECRET", SECRET)
    for cached in CACHED:
        cached.cache_clear()
    yield redis_client
    for cached in CACHED:
        cached.cache_clear()


def client(target: str) -> FlaskClient:
    """Every target uses the HTTP signature (knative/base/functions/*.yaml)."""
    return create_app(target, str(SOURCE), "http").test_client()


def _delivery(body: bytes, sign_with: str | None = SECRET, **headers: str) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        **headers,
    }
    if sign_with is not None:
        out["X-Hub-Signature-256"] = signature.sign(sign_with, body)
    return out


@pytest.mark.parametrize(
    ("sign_with", "headers", "status", "says"),
    [
        (None, {}, 401, "missing X-Hub-Signature-256"),
        ("not-the-secret", {}, 401, "invalid signature"),
        (SECRET, {"Content-Type": "text/plain"}, 415, "unsupported content type"),
        (SECRET, {"X-GitHub-Event": "bad event!"}, 400, "X-GitHub-Event"),
    ],
)
def test_the_webhook_refuses_before_publishing_anything(
    functions_env: redis.Redis, sign_with: str | None, headers: dict, status: int, says: str
) -> None:
    body = json.dumps({"action": "created"}).encode()
    resp = client("webhook").post("/", data=body, headers=_delivery(body, sign_with, **headers))
    assert resp.status_code == status
    assert says in resp.get_json()["error"]
    assert functions_env.keys("*") == []  # not even a dedupe marker


def test_the_webhook_without_a_configured_secret_takes_nothing(
    functions_env: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETCLODE_GITHUB_WEBHOOK_SECRET", "")
    body = b"{}"
    resp = client("webhook").post("/", data=body, headers=_delivery(body, ""))
    assert resp.status_code == 503
    assert "NETCLODE_GITHUB_WEBHOOK_SECRET" in resp.get_json()["error"]


def test_the_webhook_answers_only_post(functions_env: redis.Redis) -> None:
    app = client("webhook")
    assert app.get("/healthz").status_code == 200
    resp = app.get("/")
    assert (resp.status_code, resp.headers["Allow"]) == (405, "POST")


@pytest.mark.parametrize("authorization", [None, "Bearer ncp_not-a-token", "Basic dTpw"])
def test_the_api_refuses_a_caller_without_a_token(
    functions_env: redis.Redis, authorization: str | None
) -> None:
    headers = PROTO | ({"Authorization": authorization} if authorization else {})
    body = api_pb2.ListSessionsRequest().SerializeToString()
    resp = client("api").post(
        "/netclode.v1.SessionService/ListSessions", data=body, headers=headers
    )
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "unauthenticated"


def test_ingest_refuses_a_sandbox_without_its_session_token(functions_env: redis.Redis) -> None:
    body = agent_pb2.PublishRequest().SerializeToString()
    headers = PROTO | {"Authorization": "Bearer sess_forged"}
    resp = client("ingest").post("/netclode.v1.IngestService/Publish", data=body, headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "unauthenticated"


def test_the_dead_letter_function_refuses_what_is_not_a_cloudevent(
    functions_env: redis.Redis,
) -> None:
    resp = client("deadletter").post("/", json={"hello": "world"})
    assert resp.status_code == 400  # acknowledged as bad: never retried
    assert resp.get_json()["message"] == "body is not a CloudEvent"
    assert functions_env.keys("*") == []


def test_a_dead_letter_is_kept_with_why_it_died(functions_env: redis.Redis) -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "evt-1",
        "ce-source": "/netclode/webhook",
        "ce-type": "dev.netclode.github.issue_comment",
        "ce-knativeerrordest": "http://bot.netclode.svc.cluster.local",
        "ce-knativeerrorcode": "500",
        "ce-knativeerrordata": base64.b64encode(b"bot crashed").decode(),
        "Content-Type": "application/json",
    }
    app = client("deadletter")
    assert app.post("/", data=b"{}", headers=headers).status_code == 200
    assert app.post("/", data=b"{}", headers=headers).get_json() == {"status": "duplicate"}
    [(_, entry)] = functions_env.xrange(keys.DEAD_LETTERS)
    assert entry[b"id"] == b"evt-1"
    assert entry[b"subscriber"] == b"http://bot.netclode.svc.cluster.local"
    assert entry[b"error"] == b"HTTP 500 bot crashed"
