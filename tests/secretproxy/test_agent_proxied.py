"""The native agent's whole path: sandbox -> auth-proxy -> secret proxy -> model API (HTTPS).

The scripted LLM server plays Anthropic on 127.0.0.2 with its own certificate; the agent
only has the placeholder key and its base URL, and the real key appears on the server side
alone. The Bash tool's environment travels to the model in the request body, which the
proxy never touches: it shows what every tool process in the sandbox sees.
"""

from __future__ import annotations

import json
import secrets

import pytest

from netclode_protocol.v1 import common_pb2, events_pb2
from tests.secretproxy.proxied import MARKER, SHAPE, ProxiedStack
from tests.support.scripted_llm import TITLE_ASK, text, tool

pytestmark = pytest.mark.sandbox

E = events_pb2
KEY = "ANTHROPIC_API_KEY"


def sent_key(headers: dict[str, str]) -> str:
    """The key as the API received it (the SDK sends x-api-key or a bearer token)."""
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def test_native_turn_reaches_the_model_with_the_real_key_only_upstream(
    proxied: ProxiedStack,
) -> None:
    api = proxied.stack.client()
    session = api.ready(sdk_type=common_pb2.SDK_TYPE_NATIVE, model="anthropic/claude-test")
    real, ph = proxied.keys[KEY], proxied.placeholder(KEY)
    seen = len(proxied.llm.model_requests())
    proxied.llm.push(tool("Bash", {"command": "env | sort"}), text("Done: environment listed."))

    events = [e.event for e in api.turn(session.id, "list your environment")]

    completed = next(e for e in events if e.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED)
    assert completed.turn_completed.error == ""
    assert completed.turn_completed.final_answer == "Done: environment listed."
    # The turn's requests: the session's title is asked for alongside, at its first prompt.
    requests = [r for r in proxied.llm.model_requests()[seen:] if TITLE_ASK not in str(r.body)]
    assert len(requests) == 2  # the tool call, then the answer
    assert [sent_key(r.headers) for r in requests] == [real, real]
    tool_result = json.dumps(requests[1].body)
    assert f"{KEY}={ph}" in tool_result
    assert "HTTPS_PROXY=http://127.0.0.1:8080" in tool_result
    assert real not in tool_result
    kinds = [e.kind for e in events]
    assert E.AGENT_EVENT_KIND_TOOL_START in kinds
    assert E.AGENT_EVENT_KIND_TOOL_END in kinds
    # Nothing the turn left behind (history, tool output, logs) holds the real key.
    # A decoy of the key's shape proves the search can find one.
    decoy = f"{MARKER}-{secrets.token_hex(20)}"
    search = f"echo {decoy} > /tmp/decoy; grep -rhoE '{SHAPE}' /workspace /tmp /run; true"
    found = api.exec(session.id, "sh", "-c", search).stdout.decode().split()
    assert decoy in found
    assert real not in found
