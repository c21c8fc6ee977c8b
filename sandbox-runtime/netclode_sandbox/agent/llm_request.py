"""Writing a streamed request: the neutral history (see `native.History`) as each API's
messages, and the JSON body spliced from pieces encoded once.

History only grows, so each message's JSON is kept between steps and a step encodes just the
messages added since the last one (re-encoding the whole conversation, and the SDKs' deep
copy of it, cost milliseconds per step once it grew).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Turns = list[tuple[str, list[str]]]
"""(role, [item JSON]) per API turn; the role is "" where the items carry it (OpenAI)."""

MAX_TOKENS = 8192


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Encoded:
    """JSON of each history message as one API's turns, kept between steps."""

    def __init__(self, convert: Callable[[dict], Turns]) -> None:
        self.convert = convert
        self._done: list[tuple[dict, Turns]] = []

    def turns(self, history: list[dict]) -> Turns:
        """(role, [item JSON]) per converted turn, in history order."""
        done = self._done
        for i, m in enumerate(history):
            if i < len(done) and done[i][0] is m:
                continue
            del done[i:]
            done.append((m, self.convert(m)))
        del done[len(history) :]
        return [turn for _, turns in done for turn in turns]


def anthropic_turn(message: dict) -> Turns:
    return [(t["role"], [dumps(b) for b in t["content"]]) for t in _anthropic_messages([message])]


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


def anthropic_body(model: str, system: str, turns: Turns, tools: list[dict]) -> bytes:
    """A streamed Messages request; consecutive user turns are one turn."""
    merged: Turns = []
    for role, blocks in turns:
        if role == "user" and merged and merged[-1][0] == "user":
            merged[-1][1].extend(blocks)
        else:
            merged.append((role, list(blocks)))
    messages = ",".join(
        f'{{"role":"{role}","content":[{",".join(blocks)}]}}' for role, blocks in merged
    )
    head = {"model": model, "max_tokens": MAX_TOKENS, "system": system}
    body = f'{dumps(head)[:-1]},"messages":[{messages}],"tools":{dumps(tools)},"stream":true}}'
    return body.encode()


def openai_turn(message: dict) -> Turns:
    return [("", [dumps(m) for m in _openai_messages([message])])]


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


def openai_body(model: str, system: str, turns: Turns, tools: list[dict]) -> bytes:
    """A streamed chat-completions request, with the usage asked for in the last chunk."""
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
    messages = [dumps({"role": "system", "content": system})]
    messages += [item for _, items in turns for item in items]
    head = {"model": model, "tools": functions}
    body = (
        f'{dumps(head)[:-1]},"messages":[{",".join(messages)}],'
        '"stream":true,"stream_options":{"include_usage":true}}'
    )
    return body.encode()
