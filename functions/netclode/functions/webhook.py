"""The webhook function: GitHub's deliveries, verified, deduped and published as CloudEvents.

GitHub waits 10 s and never retries, so this only checks and publishes (no GitHub calls);
the bot function does the work. Anything refused is refused before a byte is published.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import cache
from urllib.parse import parse_qs

import flask
import redis

from netclode.config import Settings, process_settings
from netclode.eventing.publish import publish
from netclode.github import signature
from netclode.github.deliveries import DELIVERY_ID, EVENT_NAME, Delivery
from netclode.github.settings import GitHubSettings
from netclode.store.redis import connect
from netclode_protocol import keys
from netclode_protocol.errors import Unavailable

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 24 * 3600
# What the serving worker lets through (GitHub caps payloads at 25 MB); the configured
# NETCLODE_GITHUB_WEBHOOK_MAX_BYTES may be lower.
MAX_REQUEST_BYTES = GitHubSettings.max_body_bytes
JSON, FORM = "application/json", "application/x-www-form-urlencoded"


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def webhook(request: flask.Request) -> tuple:
    """functions-framework target `webhook` (HTTP signature)."""
    if request.path in ("/healthz", "/health") and request.method == "GET":
        return "ok", 200, {"Content-Type": "text/plain"}
    if request.method != "POST":
        return _error(405, "only POST is accepted"), 405, {"Allow": "POST"}
    try:
        delivery, digest = _verified(request, _github_settings())
    except Refused as exc:
        log.info("webhook refused (%s): %s", exc.status, exc.message)
        return _error(exc.status, exc.message), exc.status
    try:
        return _publish(delivery, digest, process_settings())
    except redis.RedisError as exc:  # GitHub sees a clean 503, never the store's address
        log.warning(
            "delivery %s not taken: state store %s", delivery.delivery_id, type(exc).__name__
        )
        return _error(503, "state store unavailable; redeliver later"), 503


@cache
def _github_settings() -> GitHubSettings:
    """Read once per process (it may read the App's private key from a file)."""
    return GitHubSettings.from_env()


def _error(status: int, message: str) -> dict:
    return {"error": message, "status": status}


def _verified(request: flask.Request, gh: GitHubSettings) -> tuple[Delivery, str]:
    """The delivery and the SHA-256 of its signed body, or Refused."""
    if not gh.webhook_secret:
        raise Refused(503, "webhook secret not configured (NETCLODE_GITHUB_WEBHOOK_SECRET)")
    if request.content_length is None:
        raise Refused(411, "Content-Length required")
    if request.content_length > gh.max_body_bytes:
        raise Refused(413, f"body larger than {gh.max_body_bytes} bytes")
    content_type = request.mimetype
    if content_type not in (JSON, FORM):
        raise Refused(415, f"unsupported content type {content_type or '(none)'!r}")
    event = request.headers.get("X-GitHub-Event", "")
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if not EVENT_NAME.match(event) or not DELIVERY_ID.match(delivery_id):
        raise Refused(400, "missing or invalid X-GitHub-Event / X-GitHub-Delivery header")
    body = request.get_data(cache=False)
    header = request.headers.get("X-Hub-Signature-256")
    if not header:
        raise Refused(401, "missing X-Hub-Signature-256")
    if not signature.valid(gh.webhook_secret, body, header):
        raise Refused(401, "invalid signature")
    delivery = Delivery(event, delivery_id, _payload(body, content_type))
    return delivery, hashlib.sha256(body).hexdigest()


def _payload(body: bytes, content_type: str) -> dict:
    try:
        text = body.decode()
        if content_type == FORM:
            text = parse_qs(text, strict_parsing=True)["payload"][0]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, KeyError):
        raise Refused(400, "body is not a JSON webhook payload") from None
    if not isinstance(payload, dict):
        raise Refused(400, "webhook payload must be a JSON object")
    return payload


def _publish(delivery: Delivery, digest: str, settings: Settings) -> tuple:
    """Publishes a delivery seen for the first time, by delivery id and by signed body: a
    captured delivery replayed under a new id is a duplicate too."""
    r = connect(settings.redis_url)
    markers = [keys.ghbot_delivery(delivery.delivery_id), keys.ghbot_delivery_body(digest)]
    pipe = r.pipeline()
    for marker in markers:
        pipe.set(marker, "1", nx=True, ex=DEDUPE_TTL_S)
    if not all(pipe.execute()):
        return {"status": "duplicate", "id": delivery.delivery_id}, 200
    try:
        publish(
            settings,
            delivery.type,
            delivery.source,
            delivery.payload,
            event_id=delivery.delivery_id,
            subject=delivery.subject,
        )
    except Unavailable as exc:
        r.delete(*markers)
        log.warning("delivery %s not published: %s", delivery.delivery_id, exc.message)
        return _error(503, "event bus unavailable; redeliver later"), 503
    return {"status": "accepted", "id": delivery.delivery_id}, 202
