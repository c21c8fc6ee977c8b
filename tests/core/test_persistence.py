"""Everything survives a restart of the stack, Valkey included (AOF under the data dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netclode_local.stack import control
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.support.stack import Stack, start, stop, up

S = common_pb2


@pytest.mark.sandbox
def test_sessions_history_tokens_and_workspaces_survive_a_restart(tmp_path: Path) -> None:
    stack = start(tmp_path)
    try:
        api = stack.client()
        session = api.ready(name="durable")
        api.exec(session.id, "sh", "-c", "echo survived > proof.txt")
        api(api.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=session.id, text="x"))
        # Its turn has started in the sandbox (no model answers here, so it runs on): a prompt
        # the sandbox had not started yet would be answered by a new one after the restart
        # (tests/redteam/test_faults.py), not interrupted.
        api.wait_status(session.id, S.SESSION_STATUS_RUNNING)
        secret = api(api.tokens.create_token, api_pb2.CreateTokenRequest(name="keeper")).secret
        before = api.entries(session.id).entries
        control.down(stack.layout)

        stack = Stack(stack.layout, up(stack.layout))
        api = stack.client()
        assert api.get(session.id).name == "durable"
        after = api.entries(session.id).entries
        assert [e.SerializeToString() for e in after[: len(before)]] == [
            e.SerializeToString() for e in before
        ]
        keeper = stack.client(secret)
        assert keeper(keeper.tokens.who_am_i, api_pb2.WhoAmIRequest()).token.name == "keeper"
        # Its sandbox did not survive the restart: the startup sweep marks the running turn
        # interrupted.
        api.wait_status(session.id, S.SESSION_STATUS_INTERRUPTED, timeout=60)
        api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
        api.wait_status(session.id, S.SESSION_STATUS_READY, S.SESSION_STATUS_RUNNING)
        assert api.exec(session.id, "cat", "proof.txt").stdout == b"survived\n"
    finally:
        stop(stack)
