"""The webhook function as GitHub sees it: a functions-framework process on loopback that
verifies, dedupes and publishes to a recording Broker ingress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from netclode.github import signature
from tests.github.conftest import SECRET, payload, signed
from tests.support.event_sink import EventSink

# GitHub's documented test vector (docs: "Validating webhook deliveries").
VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def module_sink() -> Iterator[EventSink]:
    """The Broker ingress the webhook publishes to."""
    s = EventSink(status=202)
    yield s
    s.close()


@pytest.fixture
def sink(module_sink: EventSink) -> EventSink:
    module_sink.deliveries.clear()
    module_sink.status = 202
    return module_sink


@pytest.fixture(scope="module")
def module_hook(start_module_function, module_redis_url, module_sink):
    return start_module_function(
        "webhook",
        {
            "NETCLODE_GITHUB_WEBHOOK_SECRET": SECRET,
            "NETCLODE_GITHUB_WEBHOOK_MAX_BYTES": str(MAX_BYTES),
            "NETCLODE_REDIS_URL": module_redis_url,
            "NETCLODE_BROKER_URL": f"{module_sink.url}/netclode/default",
        },
    )


@pytest.fixture
def hook(module_hook, redis_client, sink):
    """The shared webhook process, with Redis flushed and the sink emptied for this test."""
    return module_hook


def deliver(
    url: str, body: bytes, event: str = "issue_comment", delivery: str = "d-1", **extra: str
) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signed(body),
    }
    headers.update(extra)
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_documented_test_vector_verifies():
    assert signature.sign(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE
    assert signature.valid(VECTOR_SECRET, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not signature.valid(VECTOR_SECRET, VECTOR_BODY + b" ", VECTOR_SIGNATURE)
    assert not signature.valid("", VECTOR_BODY, VECTOR_SIGNATURE)


def test_signed_delivery_is_published_in_githubsource_format(hook, sink):
    body = json.dumps(payload("issue_comment.created.payload")).encode()
    resp = deliver(hook.url, body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert resp.status_code == 202, resp.text
    [delivery] = sink.deliveries
    headers, published = delivery.headers, delivery.body
    assert headers["ce-type"] == "dev.knative.source.github.issue_comment"
    assert headers["ce-source"] == "https://github.com/Codertocat/Hello-World"
    assert headers["ce-id"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert headers["ce-subject"] == "1"
    assert "authorization" not in headers  # Knative's Broker ingress asks for no credential
    assert json.loads(published) == json.loads(body)


def test_form_encoded_delivery_is_accepted(hook, sink):
    data = json.dumps(payload("ping.payload"))
    body = urlencode({"payload": data}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = deliver(hook.url, body, event="ping", delivery="d-form", **headers)
    assert resp.status_code == 202, resp.text
    assert json.loads(sink.deliveries[0].body) == json.loads(data)


@pytest.mark.parametrize(
    ("mutate", "status", "message"),
    [
        (
            lambda h: h.update({"X-Hub-Signature-256": "sha256=" + "0" * 64}),
            401,
            "invalid signature",
        ),
        (lambda h: h.pop("X-Hub-Signature-256"), 401, "missing X-Hub-Signature-256"),
        (
            lambda h: h.update({"X-Hub-Signature-256": signed(b"{}", "other")}),
            401,
            "invalid signature",
        ),
        (lambda h: h.update({"Content-Type": "text/plain"}), 415, "unsupported content type"),
        (lambda h: h.pop("X-GitHub-Delivery"), 400, "X-GitHub-Delivery"),
    ],
    ids=["wrong-signature", "missing-signature", "other-secret", "content-type", "no-delivery"],
)
def test_refused_deliveries_publish_nothing(hook, sink, mutate, status, message):
    body = json.dumps(payload("issue_comment.created.payload")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": "d-refused",
        "X-Hub-Signature-256": signed(body),
    }
    mutate(headers)
    resp = httpx.post(hook.url, content=body, headers=headers, timeout=10)
    assert resp.status_code == status
    assert message in resp.json()["error"]
    assert "Traceback" not in resp.text
    assert sink.deliveries == []


def test_malformed_body_is_refused(hook, sink):
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        resp = deliver(hook.url, body, delivery="d-bad")
        assert resp.status_code == 400
        assert "JSON" in resp.json()["error"]
    assert sink.deliveries == []


def test_oversized_body_is_refused(hook, sink):
    body = json.dumps({"padding": "x" * (MAX_BYTES + 1)}).encode()
    resp = deliver(hook.url, body, delivery="d-big")
    assert resp.status_code == 413
    assert sink.deliveries == []


def test_wrong_method_is_refused(hook, sink):
    resp = httpx.get(hook.url, timeout=10)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "POST"
    assert sink.deliveries == []


def test_replayed_delivery_is_published_once(hook, sink):
    body = json.dumps(payload("issue_comment.created.payload")).encode()
    answers = [deliver(hook.url, body, delivery="d-replay").status_code for _ in range(3)]
    assert answers == [202, 200, 200]
    assert len(sink.deliveries) == 1


def test_broker_refusal_answers_503_and_allows_redelivery(hook, sink, redis_client):
    body = json.dumps(payload("ping.payload")).encode()
    sink.status = 503
    assert deliver(hook.url, body, event="ping", delivery="d-down").status_code == 503
    # Not marked as seen: a redelivery (GitHub's "Redeliver" button) is published.
    sink.status = 202
    assert deliver(hook.url, body, event="ping", delivery="d-down").status_code == 202
    assert [d.headers["ce-id"] for d in sink.deliveries] == ["d-down", "d-down"]


def test_a_function_process_opens_no_control_socket(start_function, redis_url, sink, tmp_path):
    """gunicorn's control socket defaults to a path in $HOME shared by every function on the
    host (whichever started last would answer `gunicornc`): the functions serve without one."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "NETCLODE_GITHUB_WEBHOOK_SECRET": SECRET,
        "NETCLODE_REDIS_URL": redis_url,
        "NETCLODE_BROKER_URL": f"{sink.url}/netclode/default",
    }
    fn = start_function("webhook", env)
    body = json.dumps({**payload("ping.payload"), "zen": "no control socket"}).encode()
    assert deliver(fn.url, body, event="ping", delivery="ctl-1").status_code == 202
    assert sorted(p.name for p in home.rglob("*")) == []
