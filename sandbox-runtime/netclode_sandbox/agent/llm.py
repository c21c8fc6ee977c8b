"""Streaming model clients for the native agent: Anthropic Messages and OpenAI-compatible chat.

The streamed calls (one per agent step) are sent with httpx2 directly and read with a small
SSE parser of our own: going through the SDKs cost ~10 ms per step preparing the request
(a deep copy of the whole history) and ~20 ms building typed objects for every stream event.
We keep what the SDKs gave us: their HTTP client (`DefaultHttpxClient`: proxy env, TLS env,
keepalive socket options), their headers (auth, version, user agent), the same retry policy
(408/409/429/5xx and connection errors, `x-should-retry`, `retry-after(-ms)`, exponential
backoff with jitter) and the same error messages. Short non-streamed answers (titles) still
go through the SDKs.

History is kept in a neutral, JSON-serialisable form (see `native.History`) and converted
per API here, so a conversation file does not depend on the wire format.

A provider's API is never inside the sandbox, so its requests always take the sandbox's
proxy, even when NO_PROXY covers its host: `OLLAMA_URL=http://127.0.0.1:11434` names the
user's machine (reached by the secret proxy), not the sandbox's own loopback.

A failing API ends the turn soon: retries stop once GIVE_UP_S has passed or the next wait
would pass it, and the error names the API's host and the reason. A server that answers
slowly is left alone (a local model may think long before its first byte).
"""

from __future__ import annotations

import email.utils
import html
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import anthropic
import httpx2
import openai

from netclode.errors import InvalidArgument
from netclode.providers import Provider, split_model
from netclode.v1 import agent_pb2
from netclode_protocol.settings import ConfigurationError, read_int
from netclode_sandbox.agent import GIVE_UP_S
from netclode_sandbox.agent.events import Events

MAX_TOKENS = 8192
TIMEOUT = httpx2.Timeout(300.0, connect=10.0)
INITIAL_RETRY_DELAY = 0.5  # the SDKs' backoff: 0.5 s doubling, at most 8 s, minus up to 25 %
MAX_RETRY_DELAY = 8.0


class ModelError(Exception):
    """The model could not answer (HTTP error, unreachable, no provider): ends the turn."""


@dataclass
class ToolCall:
    id: str
    name: str
    input: dict[str, Any]


@dataclass
class Step:
    """One model reply, complete."""

    message_id: str = ""
    text: str = ""
    thinking: list[dict[str, str]] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0

    def as_history(self) -> dict[str, Any]:
        calls = [{"id": c.id, "name": c.name, "input": c.input} for c in self.tool_calls]
        return {
            "role": "assistant",
            "text": self.text,
            "thinking": self.thinking,
            "tool_calls": calls,
        }


class ModelClient(Protocol):
    def step(self, system: str, history: list[dict], tools: list[dict], events: Events) -> Step:
        """Streams one reply, emitting deltas; raises ModelError."""

    def complete(self, prompt: str, max_tokens: int) -> str:
        """A short non-streamed answer (titles)."""

    def abort(self) -> None:
        """Closes the reply being streamed (from another thread)."""


def parse_json(raw: str) -> dict[str, Any]:
    """Tool input from streamed JSON; unparseable input is kept as {_raw: ...}."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def make_client(config: agent_pb2.SessionConfig, model: str | None = None) -> ModelClient:
    """The client for the session's provider; ModelError when it is unknown or unconfigured."""
    env = {**os.environ, **config.env}
    try:
        provider, name = split_model(config.sdk_type, model or config.model)
    except InvalidArgument as e:
        raise ModelError(e.message) from None
    base = env.get(provider.base_env, "") or provider.default_base
    key = env.get(provider.key_env, "") if provider.key_env else "ollama"
    if not key or (provider.name == "ollama" and not base):
        missing = provider.key_env or provider.base_env
        raise ModelError(
            f"provider {provider.name!r} is not configured in this sandbox ({missing} unset)"
        )
    try:
        retries = read_int("NETCLODE_LLM_MAX_RETRIES", env)
    except ConfigurationError as e:
        raise ModelError(str(e)) from None
    if provider.name == "ollama":
        base = base.rstrip("/") + "/v1"
    client = AnthropicClient if provider.api == "anthropic" else OpenAIClient
    return client(provider, name, key, base, retries, proxy=_proxy_for(base, env))


def _proxy_for(base: str, env: dict[str, str]) -> str | None:
    """The sandbox's proxy for the API's scheme, whatever NO_PROXY says (see above)."""
    scheme = urlsplit(base).scheme or "https"
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
    return next((env[n] for n in names if env.get(n)), None)


def _describe(where: str, e: Exception) -> str:
    """One line naming the API (`where`: name and host) and what went wrong."""
    if isinstance(e, _BrokenOff):
        return f"{where} failed mid-answer: {_error_message(e.body) or e.body}"
    if isinstance(e, anthropic.APIStatusError | openai.APIStatusError | _StatusError):
        msg = _error_message(e.body)
        return f"{where} returned HTTP {e.status_code}: {msg or e.message}"
    if isinstance(e, anthropic.APIConnectionError | openai.APIConnectionError):
        return f"{where} unreachable: {e.__cause__ or e}"
    if isinstance(e, _Unreachable):
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


class _StatusError(Exception):
    """An HTTP error answer, described like the SDKs'."""

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self.body = status_code, body
        self.message = f"Error code: {status_code} - {body}"
        super().__init__(self.message)


class _BrokenOff(Exception):
    """An error event in an answer already under way: its HTTP status (200) says nothing,
    and it is not retried (the SDKs don't either: part of it has been shown)."""

    def __init__(self, body: Any) -> None:
        self.body = body
        super().__init__(str(body))


class _Unreachable(Exception):
    def __init__(self, cause: Exception) -> None:
        self.cause = cause
        super().__init__(str(cause))


def _should_retry(resp: httpx2.Response) -> bool:
    flag = resp.headers.get("x-should-retry")
    if flag in ("true", "false"):
        return flag == "true"
    return resp.status_code in (408, 409, 429) or resp.status_code >= 500


def _retry_delay(attempt: int, headers: httpx2.Headers | None) -> float:
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


def iter_sse(chunks: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    """(event, data) for each server-sent event in a byte stream (comments and ids ignored)."""
    buf = b""
    event, data = "", []
    for chunk in chunks:
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line = buf[:nl].rstrip(b"\r").decode("utf-8", "replace")
            buf = buf[nl + 1 :]
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "", []
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
    if data:
        yield event, "\n".join(data)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Encoded:
    """JSON of each history message as one API's turns, kept between steps: history only
    grows, so a step encodes just the messages added since the last one (re-encoding the
    whole conversation every step cost milliseconds once it grew)."""

    def __init__(self, convert: Any) -> None:
        self.convert = convert
        self._done: list[tuple[dict, list[tuple[str, list[str]]]]] = []

    def turns(self, history: list[dict]) -> list[tuple[str, list[str]]]:
        """(role, [item JSON]) per converted turn, in history order."""
        done = self._done
        for i, m in enumerate(history):
            if i < len(done) and done[i][0] is m:
                continue
            del done[i:]
            done.append((m, self.convert(m)))
        del done[len(history) :]
        return [turn for _, turns in done for turn in turns]


class _Streaming:
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
    turn: Callable[..., Any]

    def __init__(
        self,
        provider: Provider,
        model: str,
        key: str,
        base: str,
        retries: int,
        proxy: str | None = None,
    ) -> None:
        self.provider, self.model, self.retries = provider, model, retries
        self.http: httpx2.Client = self.http_class(timeout=TIMEOUT, proxy=proxy)
        self.sdk = self.client_class(
            api_key=key,
            base_url=base or None,
            max_retries=retries,
            timeout=TIMEOUT,
            http_client=self.http,
        )
        self.headers = _sdk_headers(self.sdk)
        self.url = str(self.sdk.base_url.join(self.endpoint))
        self.where = f"{provider.name} API at {self.sdk.base_url.netloc.decode()}"
        self._encoded = _Encoded(self.turn)
        self._stream: Any = None
        self._lock = threading.Lock()
        self._aborted = threading.Event()

    def _track(self, stream: Any) -> None:
        with self._lock:
            self._stream = stream

    def abort(self) -> None:
        self._aborted.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            with suppress(Exception):  # closing from another thread may race the reader; both end
                stream.close()

    def _open(self, url: str, content: bytes) -> httpx2.Response:
        """The streamed 2xx reply; _StatusError / _Unreachable once retries are spent or
        the next one would start after GIVE_UP_S."""
        self._aborted.clear()
        give_up = time.monotonic() + GIVE_UP_S
        for attempt in range(self.retries + 1):
            headers = {**self.headers, "X-Stainless-Retry-Count": str(attempt)}
            connect = min(TIMEOUT.connect or GIVE_UP_S, max(give_up - time.monotonic(), 1.0))
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
                if not self._retry(left, _retry_delay(attempt, None), give_up):
                    raise _Unreachable(e) from None
                continue
            if resp.is_success:
                self._track(resp)
                return resp
            try:
                retry = left and _should_retry(resp)
                failure = _StatusError(resp.status_code, _error_body(resp))
            finally:
                resp.close()
            if not self._retry(retry, _retry_delay(attempt, resp.headers), give_up):
                raise failure
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _retry(self, allowed: bool, delay: float, give_up: float) -> bool:
        """Waits `delay` and says to try again, unless retrying is not allowed, would start
        after `give_up`, or the turn was interrupted meanwhile."""
        if not allowed or time.monotonic() + delay >= give_up:
            return False
        return not self._aborted.wait(delay)


def _anthropic_turn(message: dict) -> list[tuple[str, list[str]]]:
    return [(t["role"], [_dumps(b) for b in t["content"]]) for t in _anthropic_messages([message])]


def _anthropic_messages(history: list[dict]) -> list[dict[str, Any]]:
    """Neutral history → Messages API turns (consecutive user turns merged)."""
    out: list[dict[str, Any]] = []
    for m in history:
        if m["role"] == "assistant":
            blocks: list[dict[str, Any]] = [
                {"type": "thinking", **t} for t in m["thinking"] if t["signature"]
            ]
            blocks += [{"type": "text", "text": m["text"]}] if m["text"] else []
            blocks += [{"type": "tool_use", **c} for c in m["tool_calls"]]
            out.append({"role": "assistant", "content": blocks or [{"type": "text", "text": "…"}]})
            continue
        if m["role"] == "user":
            content = [{"type": "text", "text": m["text"]}]
        else:
            content = [
                {
                    "type": "tool_result",
                    "tool_use_id": r["id"],
                    "content": r["output"],
                    "is_error": r["is_error"],
                }
                for r in m["results"]
            ]
        if out and out[-1]["role"] == "user":
            out[-1]["content"].extend(content)
        else:
            out.append({"role": "user", "content": content})
    return out


class AnthropicClient(_Streaming):
    client_class = anthropic.Anthropic
    http_class = anthropic.DefaultHttpxClient
    endpoint = "v1/messages"
    turn = staticmethod(_anthropic_turn)

    def complete(self, prompt: str, max_tokens: int) -> str:
        try:
            msg = self.sdk.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
        except anthropic.APIError as e:
            raise ModelError(_describe(self.where, e)) from None
        return "".join(b.text for b in msg.content if b.type == "text")

    def step(self, system: str, history: list[dict], tools: list[dict], events: Events) -> Step:
        merged: list[tuple[str, list[str]]] = []
        for role, blocks in self._encoded.turns(history):
            if role == "user" and merged and merged[-1][0] == "user":
                merged[-1][1].extend(blocks)  # consecutive user turns are one turn
            else:
                merged.append((role, list(blocks)))
        messages = ",".join(
            f'{{"role":"{role}","content":[{",".join(blocks)}]}}' for role, blocks in merged
        )
        head = {"model": self.model, "max_tokens": MAX_TOKENS, "system": system}
        body = (
            f'{_dumps(head)[:-1]},"messages":[{messages}],"tools":{_dumps(tools)},"stream":true}}'
        )
        try:
            resp = self._open(self.url, body.encode())
            try:
                return _AnthropicReader(events).read(resp.iter_bytes())
            finally:
                resp.close()
        except (_StatusError, _BrokenOff, _Unreachable, httpx2.HTTPError, httpx2.StreamError) as e:
            raise ModelError(_describe(self.where, e)) from None


def _sdk_headers(sdk: anthropic.Anthropic | openai.OpenAI) -> dict[str, str]:
    """The headers the SDK sends with every request (auth, version, user agent)."""
    headers = {**sdk.default_headers, **sdk.auth_headers}
    headers["Accept"] = "text/event-stream"
    return {k: v for k, v in headers.items() if isinstance(v, str)}


class _AnthropicReader:
    """Turns Anthropic stream events into agent events and a `Step`."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.step = Step()
        self.blocks: dict[int, dict[str, Any]] = {}
        self.texts = 0

    def read(self, chunks: Iterator[bytes]) -> Step:
        for name, data in iter_sse(chunks):
            ev = json.loads(data)
            kind = ev.get("type") or name
            if kind == "content_block_delta":
                self._on_content_block_delta(ev)
            elif kind == "error":
                raise _BrokenOff(ev)
            else:
                handler = getattr(self, f"_on_{kind}", None)
                if handler:
                    handler(ev)
        return self.step

    def _on_message_start(self, ev: dict[str, Any]) -> None:
        message = ev["message"]
        self.step.message_id = message["id"]
        self.step.input_tokens = (message.get("usage") or {}).get("input_tokens") or 0

    def _on_message_delta(self, ev: dict[str, Any]) -> None:
        self.step.output_tokens = (ev.get("usage") or {}).get("output_tokens") or 0

    def _on_content_block_start(self, ev: dict[str, Any]) -> None:
        cb, index = ev["content_block"], ev["index"]
        kind = cb["type"]
        # Deltas are collected and joined once at the block's end: `+=` on a dict item copies
        # the whole text each time, quadratic over a long answer.
        block: dict[str, Any] = {"type": kind, "parts": [], "sig": ""}
        if kind == "tool_use":
            block.update(id=cb["id"], name=cb["name"])
            self.events.tool_start(cb["id"], cb["name"])
        elif kind == "text":
            block["id"] = (
                self.step.message_id if not self.texts else f"{self.step.message_id}_{self.texts}"
            )
            self.texts += 1
        elif kind == "thinking":
            block["id"] = f"thinking_{self.step.message_id}_{index}"
        self.blocks[index] = block

    def _on_content_block_delta(self, ev: dict[str, Any]) -> None:
        block, d = self.blocks.get(ev["index"]), ev["delta"]
        if block is None:
            return
        kind = d.get("type")
        if kind == "text_delta":
            block["parts"].append(d["text"])
            self.events.text(block["id"], d["text"], partial=True)
        elif kind == "thinking_delta":
            block["parts"].append(d["thinking"])
            self.events.thinking(block["id"], d["thinking"], partial=True)
        elif kind == "signature_delta":
            block["sig"] += d["signature"]
        elif kind == "input_json_delta":
            block["parts"].append(d["partial_json"])
            self.events.tool_input_delta(block["id"], d["partial_json"])

    def _on_content_block_stop(self, ev: dict[str, Any]) -> None:
        block = self.blocks.get(ev["index"])
        if block is None:
            return
        buf = "".join(block["parts"])
        if block["type"] == "text" and buf:
            self.step.text += buf
            self.events.text(block["id"], buf, partial=False)
        elif block["type"] == "thinking":
            self.step.thinking.append({"thinking": buf, "signature": block["sig"]})
            self.events.thinking(block["id"], buf, partial=False)
        elif block["type"] == "tool_use":
            call = ToolCall(block["id"], block["name"], parse_json(buf))
            self.step.tool_calls.append(call)
            self.events.tool_input(call.id, call.input)


def _openai_turn(message: dict) -> list[tuple[str, list[str]]]:
    return [("", [_dumps(m) for m in _openai_messages([message])])]


def _openai_messages(history: list[dict]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in history:
        if m["role"] == "user":
            out.append({"role": "user", "content": m["text"]})
        elif m["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m["text"] or None}
            if m["tool_calls"]:
                msg["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": json.dumps(c["input"])},
                    }
                    for c in m["tool_calls"]
                ]
            out.append(msg)
        else:
            out += [
                {"role": "tool", "tool_call_id": r["id"], "content": r["output"]}
                for r in m["results"]
            ]
    return out


class OpenAIClient(_Streaming):
    client_class = openai.OpenAI
    http_class = openai.DefaultHttpxClient
    endpoint = "chat/completions"
    turn = staticmethod(_openai_turn)

    def complete(self, prompt: str, max_tokens: int) -> str:
        try:
            resp = self.sdk.chat.completions.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
        except openai.APIError as e:
            raise ModelError(_describe(self.where, e)) from None
        return resp.choices[0].message.content or "" if resp.choices else ""

    def step(self, system: str, history: list[dict], tools: list[dict], events: Events) -> Step:
        functions = [
            {
                "type": "function",
                "function": {
                    "name": t["name"],
                    "description": t["description"],
                    "parameters": t["input_schema"],
                },
            }
            for t in tools
        ]
        messages = [_dumps({"role": "system", "content": system})]
        messages += [item for _, items in self._encoded.turns(history) for item in items]
        head = {"model": self.model, "tools": functions}
        body = (
            f'{_dumps(head)[:-1]},"messages":[{",".join(messages)}],'
            '"stream":true,"stream_options":{"include_usage":true}}'
        )
        try:
            resp = self._open(self.url, body.encode())
            try:
                return _OpenAIReader(events).read(resp.iter_bytes())
            finally:
                resp.close()
        except (_StatusError, _BrokenOff, _Unreachable, httpx2.HTTPError, httpx2.StreamError) as e:
            raise ModelError(_describe(self.where, e)) from None


class _OpenAIReader:
    """Turns chat-completion chunks into agent events and a `Step`."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.step = Step()
        # Deltas, joined when the text is closed (see _AnthropicReader's blocks).
        self.thinking: list[str] = []
        self.text: list[str] = []
        self.text_done = False
        self.calls: dict[int, dict[str, str]] = {}

    def read(self, chunks: Iterator[bytes]) -> Step:
        for _, data in iter_sse(chunks):
            if data.startswith("[DONE]"):
                break
            chunk = json.loads(data)
            if isinstance(chunk, dict) and chunk.get("error"):
                raise _BrokenOff(chunk)
            self.step.message_id = self.step.message_id or chunk.get("id") or ""
            usage = chunk.get("usage")
            if usage:
                self.step.input_tokens = usage.get("prompt_tokens") or 0
                self.step.output_tokens = usage.get("completion_tokens") or 0
            for choice in chunk.get("choices") or []:
                self._delta(choice.get("delta") or {})
        self._finish()
        return self.step

    def _delta(self, d: dict[str, Any]) -> None:
        reasoning = d.get("reasoning_content") or d.get("reasoning")
        if reasoning:
            self.thinking.append(reasoning)
            self.events.thinking(f"thinking_{self.step.message_id}", reasoning, partial=True)
        content = d.get("content")
        if content:
            self.text.append(content)
            self.events.text(self.step.message_id, content, partial=True)
        for tc in d.get("tool_calls") or []:
            index = tc.get("index", 0)
            call = self.calls.get(index)
            if call is None:
                self._close_text()
                call = self.calls[index] = {
                    "id": tc.get("id") or f"call_{index}",
                    "name": "",
                    "args": "",
                }
            fn = tc.get("function") or {}
            if fn.get("name"):
                call["name"] = fn["name"]
                self.events.tool_start(call["id"], call["name"])
            if fn.get("arguments"):
                call["args"] += fn["arguments"]
                self.events.tool_input_delta(call["id"], fn["arguments"])

    def _close_text(self) -> None:
        """Emits the final thinking/text once, before any tool starts (or at the end)."""
        if self.thinking:
            thinking, self.thinking = "".join(self.thinking), []
            self.step.thinking.append({"thinking": thinking, "signature": ""})
            self.events.thinking(f"thinking_{self.step.message_id}", thinking, partial=False)
        self.step.text = "".join(self.text)
        if self.step.text and not self.text_done:
            self.text_done = True
            self.events.text(self.step.message_id, self.step.text, partial=False)

    def _finish(self) -> None:
        self._close_text()
        for _, call in sorted(self.calls.items()):
            tool = ToolCall(call["id"], call["name"], parse_json(call["args"]))
            self.step.tool_calls.append(tool)
            self.events.tool_input(tool.id, tool.input)
