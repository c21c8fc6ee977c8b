"""The session API over real HTTP: every call, its happy path and its error cases."""

from __future__ import annotations

import time

import httpx
import pytest
from connectrpc.errors import ConnectError

from netclode_protocol import keys
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.support.inside import field, until
from tests.support.stack import Client, Stack

S = common_pb2


def fails(code: str, call, *args, **kwargs) -> ConnectError:
    with pytest.raises(ConnectError) as info:
        call(*args, **kwargs)
    assert info.value.code.value == code, info.value.message
    return info.value


def session_ids(api: Client) -> set[str]:
    reply = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest())
    return {s.session.id for s in reply.sessions}


def test_health_answers_without_a_token(stack: Stack) -> None:
    resp = httpx.get(f"{stack.api_url}/healthz")
    assert resp.status_code == 200
    assert resp.text == "ok"


def test_create_normalises_repos_and_lists_the_session(api: Client) -> None:
    session = api.create(
        name="  repos  ",
        repos=[
            "octo/one",
            "github.com/octo/two",
            "https://github.com/octo/three.git",
            "https://github.com/octo/one",
        ],
    )
    assert session.name == "repos"
    assert list(session.repos) == [
        "https://github.com/octo/one.git",
        "https://github.com/octo/two.git",
        "https://github.com/octo/three.git",
    ]
    assert session.repo_access == S.REPO_ACCESS_READ
    assert session.status in (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_READY)
    assert session.sdk_type == S.SDK_TYPE_CLAUDE
    assert session.owner == "admin"
    reply = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest())
    summary = next(s for s in reply.sessions if s.session.id == session.id)
    assert summary.message_count == 0
    assert summary.last_cursor  # the creation wrote a session_update entry


def test_list_gives_each_session_its_own_stream_cursor(api: Client) -> None:
    first, second = api.create(name="first"), api.create(name="second")
    api(api.sessions.rename_session, api_pb2.RenameSessionRequest(session_id=second.id, name="b"))
    reply = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest())
    listed = {s.session.id: s.last_cursor for s in reply.sessions}
    own = {sid: api.entries(sid).last_cursor for sid in (first.id, second.id)}
    assert {sid: listed[sid] for sid in own} == own
    assert own[first.id] != own[second.id]


def test_default_name_comes_from_the_id(api: Client) -> None:
    session = api.create()
    assert session.name == f"Session {session.id[:6]}"


@pytest.mark.sandbox
def test_session_gets_a_sandbox_and_runs_commands(api: Client) -> None:
    session = api.ready(name="exec")
    result = api.exec(session.id, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 3)
    statuses = [
        e.session_update.status
        for e in api.entries(session.id).entries
        if e.HasField("session_update")
    ]
    assert statuses[0] == S.SESSION_STATUS_CREATING
    assert statuses[-1] == S.SESSION_STATUS_READY


def test_rename_updates_the_session_and_its_stream(api: Client) -> None:
    session = api.create(name="before")
    request = api_pb2.RenameSessionRequest(session_id=session.id, name="after")
    assert api(api.sessions.rename_session, request).session.name == "after"
    assert api.get(session.id).name == "after"
    last = api.entries(session.id).entries[-1]
    assert last.session_update.name == "after"


@pytest.mark.sandbox
def test_delete_removes_session_history_and_workspace(stack: Stack, api: Client) -> None:
    session = api.ready(name="doomed")
    workspace = stack.redis.hget(f"session:{session.id}", "workspace").decode()
    workspace_dir = stack.layout.data / "workspaces" / workspace
    assert workspace_dir.is_dir()
    api(api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=session.id))
    fails("not_found", api.get, session.id)
    assert session.id not in session_ids(api)
    assert not stack.redis.exists(f"session:{session.id}:stream")
    assert not workspace_dir.exists()


@pytest.mark.sandbox
def test_pause_keeps_the_workspace_and_resume_brings_it_back(api: Client) -> None:
    session = api.ready(name="pause")
    assert api.exec(session.id, "sh", "-c", "echo kept > notes.txt").exit_code == 0
    pause = api_pb2.PauseSessionRequest(session_id=session.id)
    assert api(api.sessions.pause_session, pause).session.status == S.SESSION_STATUS_PAUSED
    error = fails("failed_precondition", api.exec, session.id, "true")
    assert f"netclode sessions resume {session.id}" in error.message
    resume = api_pb2.ResumeSessionRequest(session_id=session.id)
    api(api.sessions.resume_session, resume)  # READY at once from the pool, else RESUMING
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    assert api.exec(session.id, "cat", "notes.txt").stdout == b"kept\n"


@pytest.mark.sandbox
def test_resume_takes_a_warm_sandbox_when_the_pool_has_one(stack: Stack, api: Client) -> None:
    """No sandbox starts: the session's workspace is attached to one already running, and
    the resume answers READY."""
    session = api.ready(name="warm resume")
    assert api.exec(session.id, "sh", "-c", "echo kept > notes.txt").exit_code == 0
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    warm = until("a warm sandbox in the pool", lambda: stack.redis.lrange(keys.POOL_READY, 0, -1))
    resume = api_pb2.ResumeSessionRequest(session_id=session.id)
    assert api(api.sessions.resume_session, resume).session.status == S.SESSION_STATUS_READY
    assert field(stack, session.id, "sandbox").encode() in warm
    assert api.exec(session.id, "cat", "notes.txt").stdout == b"kept\n"


@pytest.mark.sandbox
def test_prompt_to_a_paused_session_is_stored_and_resumes_it(api: Client) -> None:
    session = api.ready(name="wake")
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    request = api_pb2.SendPromptRequest(session_id=session.id, text="hello there")
    receipt = api(api.sessions.send_prompt, request)
    assert receipt.queued
    # Woken: still starting a sandbox, or (from the pool, inline) already on the prompt.
    woken = (S.SESSION_STATUS_RESUMING, S.SESSION_STATUS_READY, S.SESSION_STATUS_RUNNING)
    assert api.get(session.id).status in woken
    first = api.entries(session.id, after="", limit=0).entries
    user = [e for e in first if e.event.message.role == events_pb2.MESSAGE_ROLE_USER]
    assert [e.event.message.content for e in user] == ["hello there"]
    assert user[0].id == receipt.cursor
    api.wait_status(session.id, S.SESSION_STATUS_READY, S.SESSION_STATUS_RUNNING)
    summary = api(api.sessions.get_session, api_pb2.GetSessionRequest(session_id=session.id))
    assert summary.summary.message_count >= 1


def test_delete_all_deletes_every_session(stack: Stack) -> None:
    api = stack.client()
    created = {api.create(name=f"all-{i}").id for i in range(3)}
    reply = api(api.sessions.delete_all_sessions, api_pb2.DeleteAllSessionsRequest())
    assert created <= set(reply.deleted_ids)
    assert not session_ids(api)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"repos": ["not a repo"]}, "repos"),
        ({"repos": ["https://gitlab.com/a/b"]}, "repos"),
        ({"repos": ["../etc/passwd"]}, "repos"),
        ({"name": "x" * 101}, "name"),
        ({"name": "bad\x07name"}, "name"),
        ({"sdk_type": 42}, "sdk_type"),
        ({"repo_access": 9}, "repo_access"),
        ({"model": "nowhere/model", "sdk_type": S.SDK_TYPE_NATIVE}, "model"),
        ({"resources": common_pb2.SandboxResources(vcpus=512)}, "resources.vcpus"),
        ({"resources": common_pb2.SandboxResources(memory_mb=100)}, "resources.memory_mb"),
        ({"initial_prompt": " "}, "initial_prompt"),
    ],
)
def test_bad_create_names_the_field_and_creates_nothing(
    api: Client, request_fields: dict, field: str
) -> None:
    before = session_ids(api)
    error = fails("invalid_argument", api.create, **request_fields)
    assert error.message.startswith(f"{field}:"), error.message
    assert session_ids(api) == before


def test_unknown_or_malformed_session_ids(api: Client) -> None:
    unknown = "0123abcd-0ff"
    for call in (
        api.get,
        lambda i: api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=i)),
        lambda i: api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=i)),
        lambda i: api(api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=i)),
        lambda i: api(api.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=i, text="hi")),
        api.entries,
    ):
        fails("not_found", call, unknown)
        error = fails("invalid_argument", call, "../../etc")
        assert error.message.startswith("session_id:")


@pytest.mark.sandbox
def test_wrong_state_is_a_failed_precondition_and_changes_nothing(api: Client) -> None:
    session = api.ready(name="states")
    fails(
        "failed_precondition",
        api,
        api.sessions.resume_session,
        api_pb2.ResumeSessionRequest(session_id=session.id),
    )
    fails(
        "failed_precondition",
        api,
        api.sessions.interrupt_prompt,
        api_pb2.InterruptPromptRequest(session_id=session.id),
    )
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    before = api.entries(session.id).last_cursor
    fails(
        "failed_precondition",
        api,
        api.sessions.pause_session,
        api_pb2.PauseSessionRequest(session_id=session.id),
    )
    assert api.entries(session.id).last_cursor == before
    assert api.get(session.id).status == S.SESSION_STATUS_PAUSED


def test_prompt_limits(api: Client) -> None:
    session = api.create(name="limits")
    for text, expected in (
        ("", "text: must not be empty"),
        ("x" * 100_001, "text: is 100001 bytes"),
    ):
        request = api_pb2.SendPromptRequest(session_id=session.id, text=text)
        error = fails("invalid_argument", api, api.sessions.send_prompt, request)
        assert error.message.startswith(expected)
    assert not [e for e in api.entries(session.id).entries if e.HasField("event")]


def test_list_entries_rejects_a_bad_cursor(api: Client) -> None:
    session = api.create(name="cursor")
    request = api_pb2.ListEntriesRequest(session_id=session.id, after_cursor="yesterday")
    error = fails("invalid_argument", api, api.sessions.list_entries, request)
    assert error.message.startswith("after_cursor:")


def test_active_session_limit_pauses_the_least_recently_active(stack: Stack) -> None:
    api = stack.client()
    api(api.sessions.delete_all_sessions, api_pb2.DeleteAllSessionsRequest())
    first = api.create(name="oldest")
    others = [api.create(name=f"active-{i}") for i in range(5)]
    assert api.get(first.id).status == S.SESSION_STATUS_PAUSED
    for session in others:
        assert api.get(session.id).status != S.SESSION_STATUS_PAUSED
    api(api.sessions.delete_all_sessions, api_pb2.DeleteAllSessionsRequest())


@pytest.mark.sandbox
def test_repos_are_cloned_at_once_and_a_refused_clone_is_reported(stack: Stack) -> None:
    """The test stack's proxy lets sandboxes reach only test hosts, so github.com is refused
    before any DNS lookup; the session reports the failed clone honestly and stays usable."""
    api = stack.client()
    session = api.ready(name="clone", repos=["octo/hello"])
    deadline = time.monotonic() + 60
    stages: list[events_pb2.RepoClonePayload] = []
    while time.monotonic() < deadline:
        stages = [
            e.event.repo_clone
            for e in api.entries(session.id).entries
            if e.event.kind == events_pb2.AGENT_EVENT_KIND_REPO_CLONE
        ]
        if stages and stages[-1].stage in (
            events_pb2.REPO_CLONE_STAGE_DONE,
            events_pb2.REPO_CLONE_STAGE_ERROR,
        ):
            break
        time.sleep(0.2)
    assert [s.stage for s in stages] == [
        events_pb2.REPO_CLONE_STAGE_STARTING,
        events_pb2.REPO_CLONE_STAGE_ERROR,
    ]
    assert "403" in stages[-1].message
    audit = api(api.sessions.list_audit, api_pb2.ListAuditRequest(session_id=session.id))
    refusal = next(r for r in audit.records if r.host == "github.com")
    assert refusal.decision == "refused"
    assert "egress allow-list" in refusal.reason
    assert api.exec(session.id, "true").exit_code == 0
