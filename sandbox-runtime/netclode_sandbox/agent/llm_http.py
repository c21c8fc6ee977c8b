"""Sending a streamed model request the way the SDKs would, over httpx2 directly.

We keep what the SDKs gave us: their HTTP client (`DefaultHttpxClient`: proxy env, TLS env,
keepalive socket options), their headers (auth, version, user agent), the same retry policy
(408/409/429/5xx and connection errors, `x-should-retry`, `retry-after(-ms)`, exponential
backoff with jitter) and the same error messages.

A provider's API is never inside the sandbox, so its requests always take the sandbox's
proxy, even when NO_PROXY covers its host: `OLLAMA_URL=http://127.0.0.1:11434` names the
user's machine (reached by the secret proxy), not the sandbox's own loopback.

A failing API ends the turn soon: retries stop once the give-up time (agent.give_up_s) has
passed or the next wait would pass it, and the error names the API's host and the reason. A
server that answers slowly is left alone (a local model may think long before its first
byte).
"""

from __future__ import annotations

import email.utils
import html
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import anthropic
import httpx2
import openai

from netclode_protocol.providers import Provider
from netclode_sandbox.agent.llm_request import Encoded, Turns
from netclode_sandbox.agent.llm_stream import BrokenOff

TIMEOUT = httpx2.Timeout(300.0, connect=10.0)
INITIAL_RETRY_DELAY = 0.5  # the SDKs' backoff: 0.5 s doubling, at most 8 s, minus up to 25 %
MAX_RETRY_DELAY = 8.0


def proxy_for(base: str, env: dict[str, str]) -> str | None:
    """The sandbox's proxy for the API's scheme, whatever NO_PROXY says (see above)."""
    scheme = urlsplit(base).scheme or "https"
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
    return next((env[n] for n in names if env.get(n)), None)


def describe(where: str, e: Exception) -> str:
    """One line naming the API (`where`: name and host) and what went wrong."""
    if isinstance(e, BrokenOff):
        return f"{where} failed mid-answer: {_error_message(e.body) or e.body}"
    if isinstance(e, anthropic.APIStatusError | openai.APIStatusError | StatusError):
        msg = _error_message(e.body)
        return f"{where} returned HTTP {e.status_code}: {msg or e.message}"
    if isinstance(e, anthropic.APIConnectionError | openai.APIConnectionError):
        return f"{where} unreachable: {e.__cause__ or e}"
    if isinstance(e, Unreachable):
        return f"{where} unreachable: {e.cause}"
    return f"{where} failed: {e}"


def _error_message(body: Any) -> str | None:
    """The message in an API error body: `{"error": {"message": ...}}` or `{"message": ...}`;
    for a page (a proxy's 502), its text in one line."""
    if isinstance(body, str):
        return _page_text(body) or None
    body = body if isinstance(body, dict) else {}
    detail = body.get("error", body)
    return detail.get("message") if isinstance(detail, dict) else None


def _page_text(page: str, limit: int = 300) -> str:
    """An HTML or text error page as one line: its paragraph if it has one (mitmproxy's
    502 says why in a <p>), else all its text."""
    found = re.search(r"<p>(.*?)</p>", page, re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", found.group(1) if found else page)
    return " ".join(html.unescape(text).split())[:limit]


class StatusError(Exception):
    """An HTTP error answer, described like the SDKs'."""

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self.body = status_code, body
        self.message = f"Error code: {status_code} - {body}"
        super().__init__(self.message)


class Unreachable(Exception):
    def __init__(self, cause: Exception) -> None:
        self.cause = cause
        super().__init__(str(cause))


def should_retry(resp: httpx2.Response) -> bool:
    flag = resp.headers.get("x-should-retry")
    if flag in ("true", "false"):
        return flag == "true"
    return resp.status_code in (408, 409, 429) or resp.status_code >= 500


def retry_delay(attempt: int, headers: httpx2.Headers | None) -> float:
    """Seconds before retry number `attempt` (0-based), as the SDKs compute it."""
    if headers is not None:
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            try:
                after = float(headers.get(name)) * scale  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if after > 0:
                return min(after, 4_294_967.0)
        date = email.utils.parsedate_tz(headers.get("retry-after") or "")
        if date is not None and (after := email.utils.mktime_tz(date) - time.time()) > 0:
            return min(after, 4_294_967.0)
    delay = min(INITIAL_RETRY_DELAY * 2.0**attempt, MAX_RETRY_DELAY)
    return max(delay * (1 - 0.25 * random.random()), 0.0)


def _error_body(resp: httpx2.Response) -> Any:
    try:
        raw = resp.read()
    except httpx2.HTTPError:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class Streaming:
    """Sends streamed requests (with the SDKs' retries) and holds the reply being read, so
    another thread can close it.

    A subclass names its API: the SDK's client class (`client_class`: the headers and the
    non-streamed calls), the SDK's HTTP client class (`http_class`: proxy and TLS settings
    from the environment; it carries the streamed steps too), the streaming `endpoint`
    and how a turn is encoded (`turn`).
    """

    client_class: Any
    http_class: Any
    endpoint: str
    turn: Callable[[dict], Turns]

    def __init__(
        self,
        provider: Provider,
        model: str,
        key: str,
        base: str,
        retries: int,
        give_up_s: float,
        proxy: str | None = None,
    ) -> None:
        self.provider, self.model, self.retries = provider, model, retries
        self.give_up_s = give_up_s
        self.http: httpx2.Client = self.http_class(timeout=TIMEOUT, proxy=proxy)
        self.sdk = self.client_class(
            api_key=key,
            base_url=base or None,
            max_retries=retries,
            timeout=TIMEOUT,
            http_client=self.http,
        )
        self.headers = sdk_headers(self.sdk)
        self.url = str(self.sdk.base_url.join(self.endpoint))
        self.where = f"{provider.name} API at {self.sdk.base_url.netloc.decode()}"
        self._encoded = Encoded(self.turn)
        self._stream: Any = None
        self._lock = threading.Lock()
        self._aborted = threading.Event()

    def _track(self, stream: Any) -> None:
        """Holds the reply for `abort`; one that arrives after an abort is closed at once
        (the interrupt came while its headers were on the way)."""
        with self._lock:
            self._stream = stream
        if self._aborted.is_set():
            self.abort()

    def abort(self) -> None:
        self._aborted.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            with suppress(Exception):  # closing from another thread may race the reader; both end
                _shut_down(stream)
                stream.close()

    def _open(self, url: str, content: bytes) -> httpx2.Response:
        """The streamed 2xx reply; StatusError / Unreachable once retries are spent or
        the next one would start after the give-up time."""
        self._aborted.clear()
        give_up = time.monotonic() + self.give_up_s
        for attempt in range(self.retries + 1):
            headers = {**self.headers, "X-Stainless-Retry-Count": str(attempt)}
            connect = min(TIMEOUT.connect or self.give_up_s, max(give_up - time.monotonic(), 1.0))
            request = self.http.build_request(
                "POST",
                url,
                content=content,
                headers=headers,
                timeout=httpx2.Timeout(TIMEOUT.read, connect=connect),
            )
            left = attempt < self.retries
            try:
                resp = self.http.send(request, stream=True)
            except httpx2.TransportError as e:
                if not self._retry(left, retry_delay(attempt, None), give_up):
                    raise Unreachable(e) from None
                continue
            if resp.is_success:
                self._track(resp)
                return resp
            try:
                retry = left and should_retry(resp)
                failure = StatusError(resp.status_code, _error_body(resp))
            finally:
                resp.close()
            if not self._retry(retry, retry_delay(attempt, resp.headers), give_up):
                raise failure
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _retry(self, allowed: bool, delay: float, give_up: float) -> bool:
        """Waits `delay` and says to try again, unless retrying is not allowed, would start
        after `give_up`, or the turn was interrupted meanwhile."""
        if not allowed or time.monotonic() + delay >= give_up:
            return False
        return not self._aborted.wait(delay)


def sdk_headers(sdk: anthropic.Anthropic | openai.OpenAI) -> dict[str, str]:
    """The headers the SDK sends with every request (auth, version, user agent)."""
    headers = {**sdk.default_headers, **sdk.auth_headers}
    headers["Accept"] = "text/event-stream"
    return {k: v for k, v in headers.items() if isinstance(v, str)}


def _shut_down(response: httpx2.Response) -> None:
    """Wakes the reader blocked on the reply's socket at once: closing a socket under a
    thread blocked in recv does not wake it (Linux), shutting it down does."""
    network = response.extensions.get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
