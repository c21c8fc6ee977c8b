"""Streaming model clients for the native agent: Anthropic Messages and OpenAI-compatible chat.

Built on the official `anthropic` and `openai` SDKs: they own SSE parsing, retries with
backoff on 429/5xx/529, typed errors and proxy support (HTTP(S)_PROXY through their
transport, httpx2), which we would otherwise hand-write. We consume their raw stream events
ourselves so every delta becomes an event as it arrives.

History is kept in a neutral, JSON-serialisable form (see `native.History`) and converted
per API here, so a conversation file does not depend on the wire format.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic
import httpx2
import openai

from netclode.errors import InvalidArgument
from netclode.providers import Provider, split_model
from netclode.v1 import agent_pb2
from netclode_sandbox.agent.events import Events

MAX_TOKENS = 8192
TIMEOUT = httpx2.Timeout(300.0, connect=10.0)
DEFAULT_RETRIES = 2


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
    retries = int(env.get("NETCLODE_LLM_MAX_RETRIES") or DEFAULT_RETRIES)
    if provider.api == "anthropic":
        return AnthropicClient(provider, name, key, base, retries)
    if provider.name == "ollama":
        base = base.rstrip("/") + "/v1"
    return OpenAIClient(provider, name, key, base, retries)


def _describe(provider: Provider, e: Exception) -> str:
    if isinstance(e, anthropic.APIStatusError | openai.APIStatusError):
        body = e.body if isinstance(e.body, dict) else {}
        detail = body.get("error", body)
        msg = detail.get("message") if isinstance(detail, dict) else None
        return f"{provider.name} API returned HTTP {e.status_code}: {msg or e.message}"
    if isinstance(e, anthropic.APIConnectionError | openai.APIConnectionError):
        return f"{provider.name} API unreachable: {e.__cause__ or e}"
    return f"{provider.name} API failed: {e}"


class _Streaming:
    """Holds the stream being read so another thread can close it."""

    def __init__(self) -> None:
        self._stream: Any = None
        self._lock = threading.Lock()

    def _track(self, stream: Any) -> None:
        with self._lock:
            self._stream = stream

    def abort(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            with suppress(Exception):  # closing from another thread may race the reader; both end
                stream.close()


class AnthropicClient(_Streaming):
    def __init__(self, provider: Provider, model: str, key: str, base: str, retries: int) -> None:
        super().__init__()
        self.provider, self.model = provider, model
        self.sdk = anthropic.Anthropic(
            api_key=key, base_url=base or None, max_retries=retries, timeout=TIMEOUT
        )

    def complete(self, prompt: str, max_tokens: int) -> str:
        try:
            msg = self.sdk.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
        except anthropic.APIError as e:
            raise ModelError(_describe(self.provider, e)) from None
        return "".join(b.text for b in msg.content if b.type == "text")

    def step(self, system: str, history: list[dict], tools: list[dict], events: Events) -> Step:
        try:
            stream = self.sdk.messages.create(
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=system,
                messages=_anthropic_messages(history),
                tools=tools,
                stream=True,
            )
            self._track(stream)
            with stream:
                return _AnthropicReader(events).read(stream)
        except anthropic.APIError as e:
            raise ModelError(_describe(self.provider, e)) from None
        except httpx2.HTTPError as e:
            raise ModelError(_describe(self.provider, e)) from None


class _AnthropicReader:
    """Turns Anthropic stream events into agent events and a `Step`."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.step = Step()
        self.blocks: dict[int, dict[str, Any]] = {}
        self.texts = 0

    def read(self, stream: Iterator[Any]) -> Step:
        for ev in stream:
            handler = getattr(self, f"_on_{ev.type}", None)
            if handler:
                handler(ev)
        return self.step

    def _on_message_start(self, ev: Any) -> None:
        self.step.message_id = ev.message.id
        self.step.input_tokens = ev.message.usage.input_tokens or 0

    def _on_message_delta(self, ev: Any) -> None:
        self.step.output_tokens = ev.usage.output_tokens or 0

    def _on_content_block_start(self, ev: Any) -> None:
        cb = ev.content_block
        block: dict[str, Any] = {"type": cb.type, "buf": "", "sig": ""}
        if cb.type == "tool_use":
            block.update(id=cb.id, name=cb.name)
            self.events.tool_start(cb.id, cb.name)
        elif cb.type == "text":
            block["id"] = (
                self.step.message_id if not self.texts else f"{self.step.message_id}_{self.texts}"
            )
            self.texts += 1
        elif cb.type == "thinking":
            block["id"] = f"thinking_{self.step.message_id}_{ev.index}"
        self.blocks[ev.index] = block

    def _on_content_block_delta(self, ev: Any) -> None:
        block, d = self.blocks.get(ev.index), ev.delta
        if block is None:
            return
        if d.type == "text_delta":
            block["buf"] += d.text
            self.events.text(block["id"], d.text, partial=True)
        elif d.type == "thinking_delta":
            block["buf"] += d.thinking
            self.events.thinking(block["id"], d.thinking, partial=True)
        elif d.type == "signature_delta":
            block["sig"] += d.signature
        elif d.type == "input_json_delta":
            block["buf"] += d.partial_json
            self.events.tool_input_delta(block["id"], d.partial_json)

    def _on_content_block_stop(self, ev: Any) -> None:
        block = self.blocks.get(ev.index)
        if block is None:
            return
        if block["type"] == "text" and block["buf"]:
            self.step.text += block["buf"]
            self.events.text(block["id"], block["buf"], partial=False)
        elif block["type"] == "thinking":
            self.step.thinking.append({"thinking": block["buf"], "signature": block["sig"]})
            self.events.thinking(block["id"], block["buf"], partial=False)
        elif block["type"] == "tool_use":
            call = ToolCall(block["id"], block["name"], parse_json(block["buf"]))
            self.step.tool_calls.append(call)
            self.events.tool_input(call.id, call.input)


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


class OpenAIClient(_Streaming):
    def __init__(self, provider: Provider, model: str, key: str, base: str, retries: int) -> None:
        super().__init__()
        self.provider, self.model = provider, model
        self.sdk = openai.OpenAI(
            api_key=key, base_url=base or None, max_retries=retries, timeout=TIMEOUT
        )

    def complete(self, prompt: str, max_tokens: int) -> str:
        try:
            resp = self.sdk.chat.completions.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
        except openai.APIError as e:
            raise ModelError(_describe(self.provider, e)) from None
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
        try:
            stream = self.sdk.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, *_openai_messages(history)],
                tools=functions,
                stream=True,
                stream_options={"include_usage": True},
            )
            self._track(stream)
            with stream:
                return _OpenAIReader(events).read(stream)
        except openai.APIError as e:
            raise ModelError(_describe(self.provider, e)) from None
        except httpx2.HTTPError as e:
            raise ModelError(_describe(self.provider, e)) from None


class _OpenAIReader:
    """Turns chat-completion chunks into agent events and a `Step`."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.step = Step()
        self.thinking = ""
        self.text_done = False
        self.calls: dict[int, dict[str, str]] = {}

    def read(self, stream: Iterator[Any]) -> Step:
        for chunk in stream:
            self.step.message_id = self.step.message_id or chunk.id
            if chunk.usage:
                self.step.input_tokens = chunk.usage.prompt_tokens or 0
                self.step.output_tokens = chunk.usage.completion_tokens or 0
            for choice in chunk.choices:
                self._delta(choice.delta)
        self._finish()
        return self.step

    def _delta(self, d: Any) -> None:
        extra = d.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
        if reasoning:
            self.thinking += reasoning
            self.events.thinking(f"thinking_{self.step.message_id}", reasoning, partial=True)
        if d.content:
            self.step.text += d.content
            self.events.text(self.step.message_id, d.content, partial=True)
        for tc in d.tool_calls or []:
            call = self.calls.get(tc.index)
            if call is None:
                self._close_text()
                call = self.calls[tc.index] = {
                    "id": tc.id or f"call_{tc.index}",
                    "name": "",
                    "args": "",
                }
            if tc.function and tc.function.name:
                call["name"] = tc.function.name
                self.events.tool_start(call["id"], call["name"])
            if tc.function and tc.function.arguments:
                call["args"] += tc.function.arguments
                self.events.tool_input_delta(call["id"], tc.function.arguments)

    def _close_text(self) -> None:
        """Emits the final thinking/text once, before any tool starts (or at the end)."""
        if self.thinking:
            self.step.thinking.append({"thinking": self.thinking, "signature": ""})
            self.events.thinking(f"thinking_{self.step.message_id}", self.thinking, partial=False)
            self.thinking = ""
        if self.step.text and not self.text_done:
            self.text_done = True
            self.events.text(self.step.message_id, self.step.text, partial=False)

    def _finish(self) -> None:
        self._close_text()
        for _, call in sorted(self.calls.items()):
            tool = ToolCall(call["id"], call["name"], parse_json(call["args"]))
            self.step.tool_calls.append(tool)
            self.events.tool_input(tool.id, tool.input)


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
