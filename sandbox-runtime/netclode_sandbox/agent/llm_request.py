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
    """The `messages` JSON of a history for one API, kept between steps.

    Each history message is converted once (`convert`: its API turns); finished API messages
    are kept as JSON, and only the last one is written again per step, as the next message
    may still join it (consecutive user turns are one Messages API turn)."""

    def __init__(self, convert: Callable[[dict], Turns]) -> None:
        self.convert = convert
        self._done: list[tuple[dict, Turns]] = []
        self._closed: list[str] = []  # API messages that nothing joins any more, as JSON
        self._open: tuple[str, list[str]] | None = None  # the last one, still open

    def messages(self, history: list[dict]) -> str:
        """The API messages of `history`, comma-separated JSON. History only grows: one that
        does not extend the last one seen (shorter, or another last message seen) is written
        again from its first difference."""
        done = self._done
        if len(history) < len(done) or (done and history[len(done) - 1] is not done[-1][0]):
            same = next(
                (i for i, (m, d) in enumerate(zip(history, done, strict=False)) if m is not d[0]),
                min(len(history), len(done)),
            )
            self._restart(same)
        for m in history[len(done) :]:
            done.append((m, self.convert(m)))
            self._add(done[-1][1])
        if self._open is None:
            return ""
        return ",".join([*self._closed, _message(*self._open)])

    def _add(self, turns: Turns) -> None:
        for role, items in turns:
            if not items:
                continue  # nothing to send (and an empty item would break the JSON)
            if self._open is not None and role == "user" == self._open[0]:
                self._open[1].extend(items)
                continue
            if self._open is not None:
                self._closed.append(_message(*self._open))
            self._open = (role, list(items))

    def _restart(self, keep: int) -> None:
        """Forgets all past the first `keep` messages and writes the rest again."""
        del self._done[keep:]
        self._closed, self._open = [], None
        for _, turns in self._done:
            self._add(turns)


def _message(role: str, items: list[str]) -> str:
    """One API message from its items: a Messages turn, or (no role) the items themselves,
    each a chat message."""
    if not role:
        return ",".join(items)
    return f'{{"role":"{role}","content":[{",".join(items)}]}}'


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


def anthropic_body(model: str, system: str, messages: str, tools: list[dict]) -> bytes:
    """A streamed Messages request (`messages`: see Encoded.messages)."""
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


def openai_body(model: str, system: str, messages: str, tools: list[dict]) -> bytes:
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
    messages = ",".join(m for m in (dumps({"role": "system", "content": system}), messages) if m)
    head = {"model": model, "tools": functions}
    body = (
        f'{dumps(head)[:-1]},"messages":[{messages}],'
        '"stream":true,"stream_options":{"include_usage":true}}'
    )
    return body.encode()
