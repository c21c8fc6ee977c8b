"""A scripted LLM API server on loopback, speaking the real wire formats.

Endpoints:
- `POST /v1/messages` — Anthropic Messages (SSE when `stream` is true, JSON otherwise);
- `POST /v1/chat/completions` (and `/chat/completions`) — OpenAI chat completions (SSE chunks
  with tool calls and a final usage chunk, then `[DONE]`; JSON otherwise);
- `POST /v1/responses` — the OpenAI Responses API, as the Codex CLI uses it (typed SSE events:
  response.created, output items for reasoning summaries, messages and function calls with
  their deltas, response.completed with usage; JSON otherwise), with the OpenAI key;
- `GET /api/tags`, `POST /api/show` — Ollama's model listing;
- GitHub Copilot's API, by the Host a request names (the secret proxy resolves these hosts
  here): `GET /copilot_internal/user` on api.github.com (how the Copilot CLI checks its token)
  and `POST /chat/completions` on api.githubcopilot.com (OpenAI chat completions, which also
  needs the Copilot-Integration-Id header the real API asks of every client); a GitHub token
  as bearer, `keys["copilot"]`.

A test queues `Reply` steps; each model request consumes the next one (an exhausted script
answers 500 so the test fails loudly). Every request is recorded with its headers and JSON
body so tests can check what the agent sent (and which key arrived).

As strict as the real services: a model request without the real key is refused with 401
and the provider's own error body, before it takes a step of the script (`x-api-key` or a
bearer token for Anthropic, `Authorization: Bearer` for OpenAI; the keys are `keys`, random
unless given, so a test either sends its traffic through the secret proxy holding them or
configures them itself). Ollama checks no key, as Ollama does not: it is served under `/ollama`
(`ollama_url`), keyless, beside the keyed provider APIs, so one script can feed all three.

`ScriptedLLM(tls=(cert, key), host=...)` serves HTTPS on that loopback address instead (the
cert must name it), as a provider API reached through the secret proxy.
"""

from __future__ import annotations

import itertools
import json
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_ids = itertools.count(1)
# How the agent asks for a session title (netclode_sandbox.title).
TITLE_ASK = "word title for this coding task"


@dataclass
class ToolCall:
    name: str
    input: dict[str, Any]
    id: str = field(default_factory=lambda: f"toolu_{next(_ids):04d}")


@dataclass
class Reply:
    """One model step. `status` != 200 answers an API error instead of a message (429 and
    529 with the provider's rate-limit/overloaded error and `retry_after` seconds, if set, in
    a `retry-after` header); `stream_error` breaks off a streamed answer with an error event
    after its first delta; `hang_up` closes the connection without answering at all."""

    text: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: int = 200
    error_message: str = ""
    retry_after: int = 0
    stream_error: str = ""
    hang_up: bool = False
    # Seconds to wait before answering at all / after the first delta (to test interrupts).
    delay: float = 0.0
    stall: float = 0.0
    input_tokens: int = 11
    output_tokens: int = 7


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


@dataclass
class OllamaModel:
    name: str
    size: int = 2_000_000_000
    parameter_size: str = "3B"
    capabilities: list[str] = field(default_factory=lambda: ["completion", "tools"])


def text(s: str, **kw: Any) -> Reply:
    return Reply(text=s, **kw)


def overloaded(retry_after: int = 0) -> Reply:
    """What a provider answers when it is overloaded (Anthropic's 529)."""
    return Reply(status=529, error_message="Overloaded", retry_after=retry_after)


def tool(name: str, input: dict[str, Any], **kw: Any) -> Reply:
    return Reply(tool_calls=[ToolCall(name, input)], **kw)


def _chunks(s: str, size: int = 8) -> list[str]:
    return [s[i : i + size] for i in range(0, len(s), size)] or []


def _sse(event: str | None, data: Any) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class ScriptedLLM:
    """The server. Use as a context manager or call `start()`/`stop()`."""

    def __init__(
        self,
        tls: tuple[Path, Path] | None = None,
        host: str = "127.0.0.1",
        *,
        titles: str | None = None,
        keys: dict[str, str] | None = None,
        forever: Reply | None = None,
    ) -> None:
        """`titles`: answer the agent's session-title requests with this text, outside the
        script, so a title asked after a turn never takes a reply meant for the next turn.
        `keys`: the real key per API ("anthropic", "openai"); random ones by default.
        `forever`: the answer to every model request once the script is spent (a provider
        that is down for good) instead of the loud 500."""
        self.titles = titles
        self.keys = keys or {api: f"sk-{api}-{secrets.token_hex(16)}" for api in KEYED_APIS}
        self.forever = forever
        self.script: list[Reply] = []
        self.requests: list[Recorded] = []
        self.ollama_models: list[OllamaModel] = []
        # A stalled reply's signals: `stalled` once its first deltas went out and it stalls,
        # `stall_over` once it resumes (its stall time passed or the server stopped).
        self.stalled = threading.Event()
        self.stall_over = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._scheme = "https" if tls else "http"
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*tls)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    @property
    def address(self) -> str:
        """host:port, as an API's host is named in errors."""
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    @property
    def ollama_url(self) -> str:
        """Where this server plays Ollama (OLLAMA_URL): keyless, its own model listing."""
        return f"{self.url}{OLLAMA_PREFIX}"

    def start(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # a stalled reply ends now, not a minute after the test
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def push(self, *replies: Reply) -> None:
        """Queues replies; pushing a stalling one starts `stalled`/`stall_over` afresh."""
        with self._lock:
            self.script.extend(replies)
            if any(r.stall for r in replies):
                self.stalled.clear()
                self.stall_over.clear()

    def model_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and "/api/" not in r.path]

    def _next(self, req: Recorded) -> Reply:
        with self._lock:
            self.requests.append(req)
            if self.titles is not None and TITLE_ASK in json.dumps(req.body):
                return Reply(text=self.titles)
            if self.script:
                return self.script.pop(0)
            if self.forever is not None:
                return self.forever
            return Reply(status=500, error_message="scripted LLM: script exhausted")

    def refusal(self, api: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        """The provider's 401 when the request lacks the real key; None when it has it."""
        key = self.keys[api]
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        bearer = bearer if scheme.lower() == "bearer" else ""
        if api == "anthropic":
            # Its SDK sends the key as a bearer token, its CLI as x-api-key: either will do.
            sent = headers.get("x-api-key") or bearer
            if sent == key:
                return None
            message = "invalid x-api-key" if sent else "x-api-key header is required"
            error = {"type": "authentication_error", "message": message}
            return 401, {"type": "error", "error": error, "request_id": _request_id()}
        sent = bearer
        if sent == key:
            return None
        if api == "copilot":
            return 401, {"message": "Bad credentials", "documentation_url": GITHUB_DOCS}
        message = (
            f"Incorrect API key provided: {sent[:3]}****{sent[-4:]}."
            if sent
            else "You didn't provide an API key."
        )
        error = {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key" if sent else None,
        }
        return 401, {"error": error}


def _handler_for(server: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def do_GET(self) -> None:
            rec = Recorded("GET", self.path, self._headers(), {})
            with server._lock:
                server.requests.append(rec)
            if self.path.rstrip("/") == f"{OLLAMA_PREFIX}/api/tags":
                self._json(200, {"models": [_ollama_tag(m) for m in server.ollama_models]})
            elif rec.headers.get("host") == GITHUB_API and self.path == COPILOT_USER:
                refused = server.refusal("copilot", rec.headers)
                self._json(*(refused or (200, COPILOT_USER_BODY)))
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            body = json.loads(raw or b"{}")
            path = self.path.split("?")[0]
            rec = Recorded("POST", self.path, self._headers(), body)
            if path == f"{OLLAMA_PREFIX}/api/show":
                with server._lock:
                    server.requests.append(rec)
                match = [m for m in server.ollama_models if m.name == body.get("model")]
                if not match:
                    self._json(404, {"error": "model not found"})
                else:
                    self._json(200, {"capabilities": match[0].capabilities})
                return
            api = "ollama" if path == f"{OLLAMA_PREFIX}/v1/chat/completions" else API_OF.get(path)
            if rec.headers.get("host") == COPILOT_API:
                api = "copilot" if path == "/chat/completions" else None
                if api and not rec.headers.get("copilot-integration-id"):
                    self._json(400, {"message": "missing Copilot-Integration-Id header"})
                    return
            if api is None:
                self._json(404, {"error": "not found"})
                return
            refused = None if api == "ollama" else server.refusal(api, rec.headers)
            if refused is not None:
                with server._lock:
                    server.requests.append(rec)
                self._json(*refused)
                return
            wire = "anthropic" if api == "anthropic" else "openai"  # Ollama speaks OpenAI's
            wire = "responses" if path == RESPONSES_PATH else wire
            missing = [p for p in ("model", "input") if wire == "responses" and p not in body]
            if missing:  # as the Responses API answers it
                with server._lock:
                    server.requests.append(rec)
                self._json(400, _missing_parameter(missing[0]))
                return
            events, as_json = WIRE[wire]
            self._answer(server._next(rec), body, events, as_json)

        def _answer(self, reply: Reply, body: dict, events: Any, as_json: Any) -> None:
            time.sleep(reply.delay)
            if reply.hang_up:
                self.close_connection = True
                return
            if reply.status != 200:
                headers = {"retry-after": str(reply.retry_after)} if reply.retry_after else {}
                self._json(reply.status, _api_error(events, reply), headers)
                return
            model = str(body.get("model", "scripted"))
            if not body.get("stream"):
                self._json(200, as_json(reply, model))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            chunks = list(events(reply, model))
            if reply.stream_error:
                chunks = [*chunks[:3], _stream_error(events, reply.stream_error)]
            try:
                for i, chunk in enumerate(chunks):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if i == 2 and reply.stall:
                        self._stall(reply.stall)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up (interrupt): nothing more to say
            self.close_connection = True

        def _stall(self, seconds: float) -> None:
            server.stalled.set()
            server._stopping.wait(seconds)
            server.stall_over.set()

        def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


def _missing_parameter(name: str) -> dict[str, Any]:
    message = f"Missing required parameter: '{name}'."
    error = {
        "message": message,
        "type": "invalid_request_error",
        "param": name,
        "code": "missing_required_parameter",
    }
    return {"error": error}


def _ollama_tag(m: OllamaModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "model": m.name,
        "size": m.size,
        "details": {"parameter_size": m.parameter_size, "format": "gguf"},
    }


def _request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


# The error type each API gives a status (Anthropic's; OpenAI's in its own words).
ANTHROPIC_ERRORS = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error"}
OPENAI_ERRORS = {429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}


def _api_error(events: Any, reply: Reply) -> dict[str, Any]:
    """The error body the API answers `reply.status` with."""
    if events is _anthropic_events:
        kind = ANTHROPIC_ERRORS.get(reply.status, "api_error")
        error = {"type": kind, "message": reply.error_message}
        return {"type": "error", "error": error, "request_id": _request_id()}
    kind = OPENAI_ERRORS.get(reply.status, "server_error")  # the Responses API's too
    return {"error": {"message": reply.error_message, "type": kind, "param": None, "code": None}}


def _stream_error(events: Any, message: str) -> bytes:
    """The error event each API sends when an answer fails after it has begun."""
    if events is _anthropic_events:
        error = {"type": "overloaded_error", "message": message}
        return _sse("error", {"type": "error", "error": error})
    if events is _responses_events:
        return _typed({"type": "error", "code": "server_error", "message": message, "param": None})
    return _sse(None, {"error": {"message": message, "type": "server_error"}})


def _anthropic_events(r: Reply, model: str) -> Iterator[bytes]:
    msg_id = f"msg_{next(_ids):06d}"
    usage = {"input_tokens": r.input_tokens, "output_tokens": 1}
    message = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    yield _sse("message_start", {"type": "message_start", "message": message})
    index = 0

    def block(start: dict, deltas: list[dict]) -> Iterator[bytes]:
        yield _sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
        for d in deltas:
            yield _sse(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})

    if r.thinking:
        deltas = [{"type": "thinking_delta", "thinking": c} for c in _chunks(r.thinking)]
        deltas.append({"type": "signature_delta", "signature": "c2lnbmF0dXJl"})
        yield from block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
        index += 1
    if r.text:
        deltas = [{"type": "text_delta", "text": c} for c in _chunks(r.text)]
        yield from block({"type": "text", "text": ""}, deltas)
        index += 1
    for call in r.tool_calls:
        js = json.dumps(call.input)
        deltas = [{"type": "input_json_delta", "partial_json": c} for c in _chunks(js, 12)]
        yield from block(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}, deltas
        )
        index += 1
    stop = "tool_use" if r.tool_calls else "end_turn"
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": r.output_tokens},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})


def _anthropic_json(r: Reply, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if r.text:
        content.append({"type": "text", "text": r.text})
    for call in r.tool_calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input})
    return {
        "id": f"msg_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if r.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens},
    }


def _openai_chunk(cid: str, model: str, delta: dict, finish: str | None = None) -> bytes:
    chunk = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return _sse(None, chunk)


def _openai_events(r: Reply, model: str) -> Iterator[bytes]:
    cid = f"chatcmpl-{next(_ids):06d}"
    yield _openai_chunk(cid, model, {"role": "assistant", "content": ""})
    for c in _chunks(r.thinking):
        yield _openai_chunk(cid, model, {"reasoning_content": c})
    for c in _chunks(r.text):
        yield _openai_chunk(cid, model, {"content": c})
    for i, call in enumerate(r.tool_calls):
        head = {"index": i, "id": call.id, "type": "function"}
        head["function"] = {"name": call.name, "arguments": ""}
        yield _openai_chunk(cid, model, {"tool_calls": [head]})
        for c in _chunks(json.dumps(call.input), 12):
            yield _openai_chunk(
                cid, model, {"tool_calls": [{"index": i, "function": {"arguments": c}}]}
            )
    yield _openai_chunk(cid, model, {}, "tool_calls" if r.tool_calls else "stop")
    usage = {
        "prompt_tokens": r.input_tokens,
        "completion_tokens": r.output_tokens,
        "total_tokens": r.input_tokens + r.output_tokens,
    }
    yield _sse(
        None,
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": usage,
        },
    )
    yield _sse(None, "[DONE]")


def _openai_json(r: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text or None}
    if r.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.input)},
            }
            for c in r.tool_calls
        ]
    return {
        "id": f"chatcmpl-{next(_ids):06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if r.tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": r.input_tokens, "completion_tokens": r.output_tokens},
    }


def _typed(event: dict[str, Any]) -> bytes:
    """A Responses API SSE event: its type is also the SSE event name."""
    return _sse(event["type"], event)


def _responses_output(r: Reply) -> list[dict[str, Any]]:
    """The finished output items of a reply: reasoning summary, message, function calls."""
    items: list[dict[str, Any]] = []
    if r.thinking:
        summary = [{"type": "summary_text", "text": r.thinking}]
        items.append(
            {
                "type": "reasoning",
                "id": f"rs_{next(_ids):06d}",
                "summary": summary,
                "encrypted_content": secrets.token_urlsafe(24),
            }
        )
    if r.text:
        content = [{"type": "output_text", "text": r.text, "annotations": []}]
        items.append(
            {
                "type": "message",
                "id": f"msg_{next(_ids):06d}",
                "status": "completed",
                "role": "assistant",
                "content": content,
            }
        )
    for call in r.tool_calls:
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{next(_ids):06d}",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.input),
                "status": "completed",
            }
        )
    return items


def _response(r: Reply, model: str, rid: str, status: str, output: list[dict]) -> dict:
    usage = {
        "input_tokens": r.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": r.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": r.input_tokens + r.output_tokens,
    }
    return {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "usage": usage if status == "completed" else None,
    }


def _item_deltas(index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events between an output item's `added` and `done`: its text arriving."""
    at = {"item_id": item["id"], "output_index": index}
    if item["type"] == "reasoning":
        text = item["summary"][0]["text"]
        part = {"type": "summary_text", "text": ""}
        yield {
            "type": "response.reasoning_summary_part.added",
            **at,
            "summary_index": 0,
            "part": part,
        }
        for c in _chunks(text):
            yield {
                "type": "response.reasoning_summary_text.delta",
                **at,
                "summary_index": 0,
                "delta": c,
            }
        yield {
            "type": "response.reasoning_summary_text.done",
            **at,
            "summary_index": 0,
            "text": text,
        }
        part = {"type": "summary_text", "text": text}
        yield {
            "type": "response.reasoning_summary_part.done",
            **at,
            "summary_index": 0,
            "part": part,
        }
    elif item["type"] == "message":
        text, at = item["content"][0]["text"], {**at, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": []}
        yield {"type": "response.content_part.added", **at, "part": part}
        for c in _chunks(text):
            yield {"type": "response.output_text.delta", **at, "delta": c}
        yield {"type": "response.output_text.done", **at, "text": text}
        yield {"type": "response.content_part.done", **at, "part": item["content"][0]}
    else:
        for c in _chunks(item["arguments"], 12):
            yield {"type": "response.function_call_arguments.delta", **at, "delta": c}
        yield {
            "type": "response.function_call_arguments.done",
            **at,
            "arguments": item["arguments"],
        }


def _begun(item: dict[str, Any]) -> dict[str, Any]:
    """An output item as `response.output_item.added` shows it: nothing arrived yet."""
    empty = {"reasoning": {"summary": []}, "message": {"content": [], "status": "in_progress"}}
    return {**item, **empty.get(item["type"], {"arguments": "", "status": "in_progress"})}


def _responses_events(r: Reply, model: str) -> Iterator[bytes]:
    for seq, event in enumerate(_response_stream(r, model)):
        yield _typed({**event, "sequence_number": seq})


def _response_stream(r: Reply, model: str) -> Iterator[dict[str, Any]]:
    rid = f"resp_{next(_ids):06d}"
    begun = _response(r, model, rid, "in_progress", [])
    yield {"type": "response.created", "response": begun}
    yield {"type": "response.in_progress", "response": begun}
    output = _responses_output(r)
    for index, item in enumerate(output):
        yield {"type": "response.output_item.added", "output_index": index, "item": _begun(item)}
        yield from _item_deltas(index, item)
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    done = _response(r, model, rid, "completed", output)
    yield {"type": "response.completed", "response": done}


def _responses_json(r: Reply, model: str) -> dict[str, Any]:
    return _response(r, model, f"resp_{next(_ids):06d}", "completed", _responses_output(r))


WIRE = {
    "anthropic": (_anthropic_events, _anthropic_json),
    "openai": (_openai_events, _openai_json),
    "responses": (_responses_events, _responses_json),
}
RESPONSES_PATH = "/v1/responses"
API_PATHS = {
    "anthropic": ("/v1/messages",),
    "openai": ("/v1/chat/completions", "/chat/completions", RESPONSES_PATH),
}
API_OF = {path: api for api, paths in API_PATHS.items() for path in paths}
KEYED_APIS = (*API_PATHS, "copilot")
GITHUB_API, COPILOT_API = "api.github.com", "api.githubcopilot.com"
COPILOT_USER = "/copilot_internal/user"
COPILOT_USER_BODY = {"login": "octocat", "copilot_plan": "individual", "chat_enabled": True}
GITHUB_DOCS = "https://docs.github.com/rest"
OLLAMA_PREFIX = "/ollama"
OLLAMA_MODEL = "ollama/qwen3:4b"


@contextmanager
def ollama_standin() -> Iterator[ScriptedLLM]:
    """The scripted LLM as the stack's Ollama server (`ollama_url` is OLLAMA_URL), serving
    OLLAMA_MODEL, on 127.0.0.1 as Ollama usually runs: the agent reaches it the production
    way (auth-proxy, then the secret proxy, which lets the configured Ollama address
    through). Titles are answered outside the script.
    """
    with ScriptedLLM(titles="Scripted session title") as server:
        server.ollama_models.append(OllamaModel(OLLAMA_MODEL.removeprefix("ollama/")))
        yield server
