# ruff: noqa: E501 - recorded stream events read best one per line
"""The native agent's stream reading: our SSE parser and each API's stream events read into
agent events and one Step, whatever the chunk boundaries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.agent.events import Events
from netclode_sandbox.agent.llm_stream import (
    AnthropicReader,
    BrokenOff,
    OpenAIReader,
    ToolCall,
    iter_sse,
    parse_json,
)


def _split(raw: bytes, size: int) -> Iterator[bytes]:
    return (raw[i : i + size] for i in range(0, len(raw), size))


def _sse(*events: tuple[str, object]) -> bytes:
    out = b""
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out += f"{head}data: {json.dumps(data)}\n\n".encode()
    return out


class Recorder:
    def __init__(self) -> None:
        self.out: list[agent_pb2.AgentOutput] = []
        self.events = Events(self.out.append)

    def finals(self) -> list[tuple[str, str]]:
        """(correlation id, content) of the complete (non-partial) text and thinking."""
        done = [o.event for o in self.out if not o.partial]
        return [
            (e.correlation_id, e.message.content or e.thinking.content)
            for e in done
            if e.HasField("message") or e.HasField("thinking")
        ]


@pytest.mark.parametrize("size", [1, 3, 7, 4096])
def test_sse_events_survive_any_chunk_boundary(size: int) -> None:
    raw = (
        b": a comment\r\n"
        b"event: first\r\ndata: one\r\n\r\n"
        b"id: 7\ndata:two\ndata: lines\n\n"
        b"\n\n"  # blank lines alone are no event
        b"event: last\ndata: {}\n"  # the stream ends without the blank line
        b"data: cut off"  # an unfinished line at the end is no event
    )
    assert list(iter_sse(_split(raw, size))) == [
        ("first", "one"),
        ("", "two\nlines"),
        ("last", "{}"),
    ]


def test_sse_keeps_multibyte_text_split_across_chunks() -> None:
    raw = "data: héllo ✓\n\n".encode()
    assert list(iter_sse(_split(raw, 1))) == [("", "héllo ✓")]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ('{"path": "a.py"}', {"path": "a.py"}),
        ("", {}),
        ("  ", {}),
        ('{"path": ', {"_raw": '{"path": '}),
        ("[1, 2]", {"_raw": "[1, 2]"}),
    ],
)
def test_tool_input_json_is_a_dict_or_kept_raw(raw: str, parsed: dict) -> None:
    assert parse_json(raw) == parsed


ANTHROPIC_REPLY = _sse(
    ("message_start", {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 12}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "let me "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "see"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig=="}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Reading "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "it."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "tu_1", "name": "Read", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"path": "RE'}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": 'ADME.md"}'}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 34}}),
    ("message_stop", {"type": "message_stop"}),
)  # fmt: skip


@pytest.mark.parametrize("size", [5, 65536])
def test_an_anthropic_reply_becomes_one_step(size: int) -> None:
    rec = Recorder()
    step = AnthropicReader(rec.events).read(_split(ANTHROPIC_REPLY, size))

    assert step.message_id == "msg_1"
    assert (step.input_tokens, step.output_tokens) == (12, 34)
    assert step.thinking == [{"thinking": "let me see", "signature": "sig=="}]
    assert step.text == "Reading it."
    assert step.tool_calls == [ToolCall("tu_1", "Read", {"path": "README.md"})]
    assert rec.finals() == [("thinking_msg_1_0", "let me see"), ("msg_1", "Reading it.")]
    partial = [o.event.message.content for o in rec.out if o.partial and o.event.message.content]
    assert partial == ["Reading ", "it."]


def test_an_error_event_mid_anthropic_reply_breaks_it_off() -> None:
    raw = _sse(
        ("message_start", {"type": "message_start", "message": {"id": "m"}}),
        (
            "error",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ),
    )
    with pytest.raises(BrokenOff) as caught:
        AnthropicReader(Recorder().events).read(iter([raw]))
    assert caught.value.body["error"]["message"] == "Overloaded"


def _chunk(delta: dict, **extra: object) -> dict:
    return {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": delta}], **extra}


OPENAI_REPLY = (
    _sse(
        ("", _chunk({"reasoning_content": "hmm"})),
        ("", _chunk({"content": "Let me "})),
        ("", _chunk({"content": "look."})),
        ("", _chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "Read", "arguments": '{"pa'}}]})),
        ("", _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th": "x"}'}}]})),
        ("", _chunk({"tool_calls": [{"index": 1, "function": {"name": "Bash", "arguments": "not json"}}]})),
        ("", {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 9}}),
    )
    + b"data: [DONE]\n\n"
    + _sse(("", _chunk({"content": "after DONE: ignored"})))
)  # fmt: skip


def test_an_openai_reply_becomes_one_step() -> None:
    rec = Recorder()
    step = OpenAIReader(rec.events).read(_split(OPENAI_REPLY, 11))

    assert step.message_id == "chatcmpl-1"
    assert (step.input_tokens, step.output_tokens) == (5, 9)
    assert step.text == "Let me look."
    assert step.thinking == [{"thinking": "hmm", "signature": ""}]
    assert step.tool_calls == [
        ToolCall("call_a", "Read", {"path": "x"}),
        ToolCall("call_1", "Bash", {"_raw": "not json"}),  # no id given: one is made up
    ]
    # The final text is emitted once, before the first tool starts.
    assert rec.finals() == [("thinking_chatcmpl-1", "hmm"), ("chatcmpl-1", "Let me look.")]


def test_an_error_chunk_mid_openai_reply_breaks_it_off() -> None:
    raw = _sse(("", _chunk({"content": "par"})), ("", {"error": {"message": "upstream died"}}))
    with pytest.raises(BrokenOff):
        OpenAIReader(Recorder().events).read(iter([raw]))
