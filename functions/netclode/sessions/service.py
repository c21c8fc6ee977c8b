"""The session API's operations, as the api function exposes them.

Every operation takes the calling principal: a user token only ever sees sessions it owns,
and anything else is reported as not found, never as forbidden.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from base64 import urlsafe_b64encode
from dataclasses import dataclass

import redis

from netclode.auth.tokens import Principal
from netclode.config import Settings
from netclode.drivers.base import SandboxDriver
from netclode.eventing import types
from netclode.sessions import entries, validation
from netclode.sessions.access import owned
from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.reconcile import reconcile_sessions
from netclode.sessions.snapshots import Snapshots
from netclode.store.redis import connect
from netclode.store.sessions import SessionRecord
from netclode.store.streams import Page, TerminalStream, last_cursors
from netclode_protocol.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2

log = logging.getLogger(__name__)

S = common_pb2
DEFAULT_PAGE = 500
MAX_PAGE = 5000
LIST_DEFAULT_PAGE = 100
LIST_MAX_PAGE = 1000
EXEC_DEFAULT_S = 60
EXEC_MAX_S = 600
NEEDS_SANDBOX = "session is paused; resume it first: netclode sessions resume {id}"
LOST_SANDBOX = "the sandbox of session {id} is gone; resume it: netclode sessions resume {id}"


def status_word(status: int) -> str:
    """`SESSION_STATUS_READY` -> `ready` (the number as a session record holds it)."""
    name = S.SessionStatus.DESCRIPTOR.values_by_number[status].name
    return name.removeprefix("SESSION_STATUS_").lower()


@dataclass
class PromptReceipt:
    cursor: str
    queued: bool


class SessionService:
    def __init__(
        self, settings: Settings, r: redis.Redis | None = None, driver: SandboxDriver | None = None
    ) -> None:
        self.settings = settings
        self.r = r if r is not None else connect(settings.redis_url)
        self.life = Lifecycle(settings, self.r, driver)
        self.store = self.life.store

    def reconcile(self) -> None:
        """The periodic sweep (pool function): see netclode.sessions.reconcile."""
        reconcile_sessions(self.life)

    # -- reading ------------------------------------------------------------------------

    def get(self, principal: Principal, session_id: str) -> SessionRecord:
        return owned(self.store, principal, session_id)

    def list(
        self, principal: Principal, page_token: str = "", page_size: int = 0
    ) -> tuple[list[SessionRecord], str]:
        """One page of the sessions the principal sees, newest first, and the token of the
        next page (empty on the last). An admin sees everyone's."""
        before = validation.page_token(page_token)
        size = validation.page_size(page_size, LIST_DEFAULT_PAGE, LIST_MAX_PAGE)
        owner = None if principal.is_admin else principal.id
        records, after = self.store.page(owner, before, size)
        token = urlsafe_b64encode(after.encode()).decode().rstrip("=") if after else ""
        return records, token

    def summary(self, record: SessionRecord) -> common_pb2.SessionSummary:
        return self.summaries([record])[0]

    def summaries(
        self, records: builtins.list[SessionRecord]
    ) -> builtins.list[common_pb2.SessionSummary]:
        """One summary per record, their stream cursors read in one round trip."""
        cursors = last_cursors(self.r, [record.id for record in records])
        return [
            common_pb2.SessionSummary(
                session=record.to_proto(),
                message_count=record.message_count,
                last_cursor=cursor,
            )
            for record, cursor in zip(records, cursors, strict=True)
        ]

    def entries_page(self, principal: Principal, session_id: str, after: str, limit: int) -> Page:
        self.get(principal, session_id)
        cursor = validation.cursor(after)
        size = min(limit or DEFAULT_PAGE, MAX_PAGE)
        return self.life.stream(session_id).page(cursor, size)

    # -- lifecycle ------------------------------------------------------------------------

    def create(self, principal: Principal, req: api_pb2.CreateSessionRequest) -> SessionRecord:
        from netclode import codexauth
        from netclode_protocol import providers

        repos = validation.repos(list(req.repos))
        access = validation.enum_value("repo_access", S.RepoAccess, req.repo_access)
        sdk = validation.enum_value("sdk_type", S.SdkType, req.sdk_type) or S.SDK_TYPE_CLAUDE
        # The model must be well-formed now; its provider's key only once it is prompted
        # (terminal-only use needs none).
        model = providers.normalize_model(sdk, req.model)
        vcpus, memory_mb = validation.resources(req.resources, self.settings)
        prompt = (
            validation.prompt(
                req.initial_prompt, self.settings.max_prompt_bytes, field="initial_prompt"
            )
            if req.initial_prompt
            else ""
        )
        if prompt:
            providers.require_available(sdk, model)
            codexauth.require_signed_in(self.r, sdk, model)
        session_id = str(uuid.uuid4())[:12]
        name = validation.name(req.name) if req.name.strip() else f"Session {session_id[:6]}"
        record = SessionRecord(
            id=session_id,
            name=name,
            owner=principal.name,
            owner_id=principal.id,
            repos=repos,
            repo_access=(access or S.REPO_ACCESS_READ) if repos else S.REPO_ACCESS_UNSPECIFIED,
            sdk_type=sdk,
            model=model,
            tailnet_access=req.network_config.tailnet_access,
            vcpus=vcpus,
            memory_mb=memory_mb,
        )
        self.life.make_room(principal.id)
        pipe = self.r.pipeline()
        self.store.create(record, pipe)
        self.life.stream(session_id).append(entries.session_update(record.to_proto()), pipe=pipe)
        pipe.execute()
        if repos:
            self.life.grant_github(record)
        if prompt:
            self._record_prompt(record, prompt)
        self._start(record)
        self.life.announce(record.id, types.SESSION_CREATED, f"{record.id}:created")
        return self.store.get(session_id) or record

    def _start(self, record: SessionRecord) -> None:
        claimed = self.life.claim(record)
        if claimed is None:
            self.life.provision_async(record)
            return
        try:
            self.life.bind_claimed(record, claimed)
        except Exception as exc:
            log.warning(
                "claimed sandbox %s failed (%s); starting a fresh one", claimed.sandbox_id, exc
            )
            self.life.discard_sandbox(claimed.sandbox_id)
            self.life.provision_async(record)

    def rename(self, principal: Principal, session_id: str, name: str) -> SessionRecord:
        self.get(principal, session_id)
        self.store.update(session_id, name=validation.name(name), titled=True)
        record = self.store.get(session_id)
        if record is None:
            raise NotFound(f"session {session_id} not found")
        self.life.stream(session_id).append(entries.session_update(record.to_proto()))
        return record

    def pause(self, principal: Principal, session_id: str) -> SessionRecord:
        record = self.get(principal, session_id)
        if record.status == S.SESSION_STATUS_PAUSED:
            raise FailedPrecondition(f"session {session_id} is already paused")
        return self.life.pause(record, "requested") or record

    def resume(self, principal: Principal, session_id: str) -> SessionRecord:
        record = self.get(principal, session_id)
        if record.status in (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING) or (
            record.sandbox and record.status in (S.SESSION_STATUS_READY, S.SESSION_STATUS_RUNNING)
        ):
            raise FailedPrecondition(
                f"session {session_id} is already {status_word(record.status)}"
            )
        self.life.make_room(record.owner_id, exclude=session_id)
        moved = self.life.transition(
            session_id,
            S.SESSION_STATUS_RESUMING,
            allowed=(
                S.SESSION_STATUS_PAUSED,
                S.SESSION_STATUS_ERROR,
                S.SESSION_STATUS_INTERRUPTED,
                S.SESSION_STATUS_READY,
            ),
        )
        if moved is None:
            return self.get(principal, session_id)
        self.life.touch(session_id)  # a resume is activity: the next eviction spares it
        self.life.release_sandbox(moved)
        self.life.serve(moved)
        return self.store.get(session_id) or moved

    def update_repo_access(
        self, principal: Principal, req: api_pb2.UpdateRepoAccessRequest
    ) -> SessionRecord:
        """Adds repos and/or changes the access: the token is granted for the new set first
        (GitHub may refuse: nothing is saved then), a running sandbox clones what is new."""
        record = self.get(principal, req.session_id)
        added = validation.repos(list(req.add_repos))
        access: int = validation.enum_value("repo_access", S.RepoAccess, req.repo_access)
        if not added and not access:
            raise InvalidArgument("add_repos", "name a repository to add, or a new repo_access")
        repos = validation.repos(record.repos + added)
        access = access or record.repo_access or S.REPO_ACCESS_READ
        github_token = self.life.github.grant(record.id, repos, access)
        self.store.update(record.id, repos=repos, repo_access=access)
        updated = self.get(principal, record.id)
        self.life.stream(record.id).append(entries.session_update(updated.to_proto()))
        if updated.sandbox and updated.status not in (
            S.SESSION_STATUS_CREATING,
            S.SESSION_STATUS_RESUMING,
        ):
            config = self.life.session_config(updated, github_token)
            request = agent_pb2.UpdateReposRequest(config=config)
            self._call(updated, "UpdateRepos", request, agent_pb2.UpdateReposResponse)
        return updated

    def delete(self, principal: Principal, session_id: str) -> None:
        record = self.get(principal, session_id)
        self.life.release_sandbox(record)
        if record.workspace:
            self.life.driver.delete_workspace(record.workspace)
        Snapshots(self.life).delete_all(session_id)
        self.store.delete(session_id)

    def delete_all(self, principal: Principal) -> builtins.list[str]:
        deleted: builtins.list[str] = []
        token = ""
        while True:
            records, token = self.list(principal, token, LIST_MAX_PAGE)
            for record in records:
                try:
                    self.delete(principal, record.id)
                    deleted.append(record.id)
                except NotFound:
                    continue
            if not token:
                return deleted

    # -- prompts ----------------------------------------------------------------------------

    def send_prompt(self, principal: Principal, session_id: str, text: str) -> PromptReceipt:
        from netclode import codexauth
        from netclode_protocol import providers

        record = self.get(principal, session_id)
        text = validation.prompt(text, self.settings.max_prompt_bytes)
        if record.status == S.SESSION_STATUS_ERROR:
            raise FailedPrecondition(
                f"session {session_id} failed; to retry: netclode sessions resume {session_id}"
            )
        providers.require_available(record.sdk_type, record.model)
        codexauth.require_signed_in(self.r, record.sdk_type, record.model)
        wakes = not record.sandbox and record.status not in (
            S.SESSION_STATUS_CREATING,
            S.SESSION_STATUS_RESUMING,
        )
        if wakes:  # refused before the prompt is stored: a refusal leaves no trace
            self.life.make_room(record.owner_id, exclude=session_id)
        cursor = self._record_prompt(record, text)
        if wakes:
            self.resume(principal, session_id)
            return PromptReceipt(cursor, queued=True)
        current = self.store.get(session_id)
        if current is None or current.status not in (
            S.SESSION_STATUS_READY,
            S.SESSION_STATUS_RUNNING,
            S.SESSION_STATUS_INTERRUPTED,
        ):
            return PromptReceipt(cursor, queued=True)
        try:
            return PromptReceipt(cursor, queued=self.life.deliver_pending(current))
        except (NotFound, Unavailable):
            if not self.life.notice_lost(current):
                raise
        # Its sandbox is gone: a new one takes the prompt, still queued.
        self.resume(principal, session_id)
        return PromptReceipt(cursor, queued=True)

    def _record_prompt(self, record: SessionRecord, text: str) -> str:
        """Stores the user message and queues the prompt for the sandbox."""
        cursor = self.life.stream(record.id).append(entries.user_message(text))
        self.store.increment(record.id, "message_count")
        self.life.touch(record.id)
        self.life.turns.enqueue(record.id, cursor, text)
        return cursor

    def interrupt(self, principal: Principal, session_id: str) -> None:
        record = self.get(principal, session_id)
        if record.status != S.SESSION_STATUS_RUNNING or not record.sandbox:
            raise FailedPrecondition(f"session {session_id} has no running turn")
        self._call(record, "Interrupt", agent_pb2.InterruptRequest(), agent_pb2.InterruptResponse)

    # -- the sandbox's terminal, commands and git ---------------------------------------------

    def terminal_input(self, principal: Principal, session_id: str, data: bytes) -> None:
        record = self._with_sandbox(principal, session_id)
        validation.terminal_input(data)
        if data:
            self.life.touch(session_id)
            self._call(
                record,
                "TerminalInput",
                api_pb2.TerminalInputRequest(data=data),
                api_pb2.TerminalInputResponse,
            )

    def terminal_resize(self, principal: Principal, session_id: str, cols: int, rows: int) -> None:
        record = self._with_sandbox(principal, session_id)
        cols, rows = validation.terminal_size(cols, rows)
        self._call(
            record,
            "TerminalResize",
            api_pb2.TerminalResizeRequest(cols=cols, rows=rows),
            api_pb2.TerminalResizeResponse,
        )

    def terminal(self, principal: Principal, session_id: str) -> TerminalStream:
        self.get(principal, session_id)
        return TerminalStream(self.r, session_id)

    def exec(self, principal: Principal, req: api_pb2.ExecRequest) -> api_pb2.ExecResponse:
        validation.argv(list(req.argv))
        record = self._with_sandbox(principal, req.session_id)
        timeout = req.timeout_seconds or EXEC_DEFAULT_S
        if timeout > EXEC_MAX_S:
            raise InvalidArgument("timeout_seconds", f"at most {EXEC_MAX_S}")
        self.life.touch(record.id)
        request = api_pb2.ExecRequest(argv=req.argv, timeout_seconds=timeout)
        return self._call(record, "Exec", request, api_pb2.ExecResponse, timeout=timeout + 10)

    def git_status(self, principal: Principal, session_id: str) -> api_pb2.GitStatusResponse:
        record = self._with_sandbox(principal, session_id)
        return self._call(
            record, "GitStatus", api_pb2.GitStatusRequest(), api_pb2.GitStatusResponse, timeout=30
        )

    def git_diff(self, principal: Principal, session_id: str, file: str) -> api_pb2.GitDiffResponse:
        record = self._with_sandbox(principal, session_id)
        return self._call(
            record,
            "GitDiff",
            api_pb2.GitDiffRequest(file=file),
            api_pb2.GitDiffResponse,
            timeout=30,
        )

    def _with_sandbox(self, principal: Principal, session_id: str) -> SessionRecord:
        record = self.get(principal, session_id)
        if record.status in (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING):
            raise FailedPrecondition(f"session {session_id} is still starting; try again shortly")
        if not record.sandbox:
            raise FailedPrecondition(NEEDS_SANDBOX.format(id=session_id))
        return record

    def _call(self, record: SessionRecord, method: str, request, reply, timeout: float = 10.0):
        """One call to the session's sandbox; a sandbox found gone is told as such (and the
        session leaves READY at once)."""
        try:
            rpc = self.life.driver.rpc(record.sandbox)
            try:
                return rpc.call(method, request, reply, timeout=timeout)
            finally:
                rpc.close()
        except (NotFound, Unavailable):
            if not self.life.notice_lost(record):
                raise
        raise FailedPrecondition(LOST_SANDBOX.format(id=record.id))
