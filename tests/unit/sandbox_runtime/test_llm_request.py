"""The native agent's request bodies: spliced from JSON pieces encoded once, they must be
exactly the JSON the APIs expect, for any history."""

from __future__ import annotations

import json

from netclode_sandbox.agent.llm_request import (
    Encoded,
    anthropic_body,
    anthropic_turn,
    openai_body,
    openai_turn,
)

TOOLS = [{"name": "Read", "description": "Reads a file", "input_schema": {"type": "object"}}]
HISTORY: list[dict] = [
    {"role": "user", "text": 'Read "a.py" — please'},
    {
        "role": "assistant",
        "text": "Reading.",
        "thinking": [
            {"thinking": "kept", "signature": "s1"},
            {"thinking": "dropped", "signature": ""},
        ],
        "tool_calls": [{"id": "t1", "name": "Read", "input": {"path": "a.py"}}],
    },
    {"role": "tool", "results": [{"id": "t1", "output": "print(1)", "is_error": False}]},
    {"role": "user", "text": "and then?"},
    {"role": "assistant", "text": "", "thinking": [], "tool_calls": []},
]


def test_the_anthropic_body_is_the_messages_request() -> None:
    body = anthropic_body("claude-x", "be brief", Encoded(anthropic_turn).messages(HISTORY), TOOLS)

    assert json.loads(body) == {
        "model": "claude-x",
        "max_tokens": 8192,
        "system": "be brief",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": 'Read "a.py" — please'}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "kept", "signature": "s1"},
                    {"type": "text", "text": "Reading."},
                    {"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "a.py"}},
                ],
            },
            {
                "role": "user",  # the tool result and the next prompt: one user turn
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": "print(1)",
                        "is_error": False,
                    },
                    {"type": "text", "text": "and then?"},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "…"}]},  # never empty
        ],
        "tools": TOOLS,
        "stream": True,
    }


def test_the_openai_body_is_the_chat_completions_request() -> None:
    body = openai_body("gpt-x", "be brief", Encoded(openai_turn).messages(HISTORY), TOOLS)

    assert json.loads(body) == {
        "model": "gpt-x",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "Read",
                    "description": "Reads a file",
                    "parameters": {"type": "object"},
                },
            }
        ],
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": 'Read "a.py" — please'},
            {
                "role": "assistant",
                "content": "Reading.",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "Read", "arguments": '{"path": "a.py"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "print(1)"},
            {"role": "user", "content": "and then?"},
            {"role": "assistant", "content": None},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_only_messages_added_since_the_last_step_are_encoded() -> None:
    seen: list[str] = []

    def convert(message: dict) -> list[tuple[str, list[str]]]:
        seen.append(message["text"])
        return [(message["role"], [json.dumps(message["text"])])]

    encoded = Encoded(convert)
    history = [{"role": "user", "text": "one"}, {"role": "assistant", "text": "two"}]
    encoded.messages(history)
    history.append({"role": "user", "text": "three"})
    history.append({"role": "user", "text": "four"})  # joins the open user turn
    assert json.loads(f"[{encoded.messages(history)}]") == [
        {"role": "user", "content": ["one"]},
        {"role": "assistant", "content": ["two"]},
        {"role": "user", "content": ["three", "four"]},
    ]
    assert seen == ["one", "two", "three", "four"]

    history[1] = {"role": "assistant", "text": "two, edited"}  # encoded again, and what follows
    del history[3]  # a history cut short is written without what was cut
    assert json.loads(f"[{encoded.messages(history)}]") == [
        {"role": "user", "content": ["one"]},
        {"role": "assistant", "content": ["two, edited"]},
        {"role": "user", "content": ["three"]},
    ]
    assert seen[4:] == ["two, edited", "three"]


def test_a_step_reads_like_the_whole_history_written_at_once() -> None:
    """The kept JSON after each step equals the history encoded from scratch."""
    for convert, body in ((anthropic_turn, anthropic_body), (openai_turn, openai_body)):
        encoded, history = Encoded(convert), []
        for message in HISTORY:
            history.append(message)
            kept = body("m", "s", encoded.messages(history), TOOLS)
            assert json.loads(kept) == json.loads(
                body("m", "s", Encoded(convert).messages(history), TOOLS)
            )
