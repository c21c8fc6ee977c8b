"""Reading a streamed model reply: server-sent events, and each API's stream events turned
into agent events and one complete `Step`.

The SSE parser is our own: the SDKs' typed stream objects cost ~20 ms per step to build.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from netclode_sandbox.agent.events import Events


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


def parse_json(raw: str) -> dict[str, Any]:
    """Tool input from streamed JSON; unparseable input is kept as {_raw: ...}."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


class BrokenOff(Exception):
    """An error event in an answer already under way: its HTTP status (200) says nothing,
    and it is not retried (the SDKs don't either: part of it has been shown)."""

    def __init__(self, body: Any) -> None:
        self.body = body
        super().__init__(str(body))


def iter_sse(chunks: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    """(event, data) for each server-sent event in a byte stream (comments and ids ignored)."""
    buf = b""
    event = ""
    data: list[str] = []
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


class AnthropicReader:
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
                raise BrokenOff(ev)
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


class OpenAIReader:
    """Turns chat-completion chunks into agent events and a `Step`."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.step = Step()
        # Deltas, joined when the text is closed (see AnthropicReader's blocks).
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
                raise BrokenOff(chunk)
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
