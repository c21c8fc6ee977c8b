"""Moving sessions between states: binding sandboxes, pausing, failing, making room.

Shared by the api function (user requests), the pool function (reconciliation) and the
ingest function (turn ends). Status changes are compare-and-set in Redis and each one
writes a session_update entry, so watchers see every transition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import cached_property, partial
from typing import TYPE_CHECKING

import redis

from netclode.config import Settings
from netclode.drivers import get_driver
from netclode.drivers.base import SandboxDriver, SandboxSpec
from netclode.drivers.rpc import SandboxRPC
from netclode.eventing import types
from netclode.eventing.publish import publish, publish_later
from netclode.sandboxes import new_sandbox_id, new_workspace_id, wait_ready
from netclode.sessions import entries, ports
from netclode.store.sandboxes import Claimed, SandboxRegistry
from netclode.store.sessions import ACTIVE, SessionRecord, SessionStore, now_ms
from netclode.store.sessiontokens import SessionTokenStore
from netclode.store.streams import SessionStream
from netclode.store.turns import TurnQueue
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.errors import NetclodeError, ResourceExhausted, Unavailable
from netclode_protocol.v1 import agent_pb2, common_pb2, events_pb2

if TYPE_CHECKING:
    from netclode.github.grants import SessionTokens

log = logging.getLogger(__name__)

S = common_pb2
SESSION_TOKEN_PREFIX = "ncs"


class Lifecycle:
    def __init__(
        self, settings: Settings, r: redis.Redis, driver: SandboxDriver | None = None
    ) -> None:
        """`driver`: the sandbox driver to use; by default the one settings name, built on
        first use (functions that never touch a sandbox never load one)."""
        self.settings = settings
        self.r = r
        self.store = SessionStore(r)
        self.sandboxes = SandboxRegistry(r)
        self.turns = TurnQueue(r)
        self._driver = driver

    @property
    def driver(self) -> SandboxDriver:
        if self._driver is None:
            self._driver = get_driver(self.settings)
        return self._driver

    @cached_property
    def github(self) -> SessionTokens:
        """Grants sessions their GitHub tokens (netclode.github.grants). Imported when first
        needed: PyGithub takes a while to import, and the ingest function never needs it."""
        from netclode.github.grants import SessionTokens

        return SessionTokens.from_env(self.r)

    def warm(self) -> None:
        """Builds now what the first sandbox bind of a process would: the driver and the
        GitHub grants (PyGithub's import): about 0.2 s of CPU, for a process that can spend
        it before its first create (netclode.functions.api.warm)."""
        _ = self.driver, self.github

    def stream(self, session_id: str) -> SessionStream:
        return SessionStream(self.r, session_id)

    def grant_github(self, record: SessionRecord) -> bool:
        """A fresh GitHub token for the session's repos, if a source is configured; a
        refusal is told in the session's history and the session goes on without one
        (public repos still clone). A session without repos never holds one (a grant for
        none withdraws it), so a create without repos need not ask for one."""
        try:
            return self.github.grant(record.id, record.repos, record.repo_access)
        except NetclodeError as exc:
            log.warning("no GitHub token for session %s: %s", record.id, exc.message)
            self.stream(record.id).append(
                entries.error("GITHUB_ERROR", f"no GitHub token for this session: {exc.message}")
            )
            return False

    # -- status -------------------------------------------------------------------------

    def transition(
        self, session_id: str, to: int, *, allowed: Iterable[int] | None = None, **fields: object
    ) -> SessionRecord | None:
        """Sets the status (only from `allowed`, when given) and writes a session_update."""
        record = self.store.move(session_id, allowed, status=to, status_at=now_ms(), **fields)
        if record is not None:
            self.stream(session_id).append(entries.session_update(record.to_proto()))
        return record

    def fail(self, session_id: str, reason: str) -> None:
        """ERROR with an error entry that says why; the sandbox (if any) is released."""
        record = self.store.get(session_id)
        if record is None:
            return
        self.release_sandbox(record)
        self.stream(session_id).append(entries.error("SESSION_ERROR", reason))
        self.transition(session_id, S.SESSION_STATUS_ERROR, sandbox="")

    def announce(self, session_id: str, event_type: str, event_id: str) -> None:
        """Tells the broker a session took a pool sandbox (created, resumed): the pool
        function refills now, not at its next tick. Sent in the background (publish_later):
        the session's answer does not wait for it. Not published, the tick still refills;
        the session is unaffected."""
        publish_later(partial(self._announce_now, session_id, event_type, event_id))

    def _announce_now(self, session_id: str, event_type: str, event_id: str) -> None:
        try:
            publish(
                self.settings,
                event_type,
                types.SOURCE,
                {"session_id": session_id},
                event_id=event_id,
                subject=session_id,
            )
        except Unavailable as exc:
            log.warning("%s not published: %s", event_type, exc.message)

    def touch(self, session_id: str) -> None:
        self.store.update(session_id, last_active_at=now_ms())

    # -- sandboxes ----------------------------------------------------------------------

    def bind_claimed(self, record: SessionRecord, claimed: Claimed) -> None:
        """Binds a sandbox claimed from the warm pool, on the workspace it started on
        (inline: no process start)."""
        self.attach(record.id, claimed.sandbox_id, claimed.workspace)

    def serve(self, record: SessionRecord) -> None:
        """A sandbox for a session on its workspace: a warm pool one at once when the pool
        can serve it (attach_from_pool), else a new one in the background."""
        if not self.attach_from_pool(record):
            self.provision_async(record)

    def provision_async(self, record: SessionRecord) -> None:
        """Starts a sandbox on the session's workspace in the background."""
        threading.Thread(
            target=self.provision, args=(record.id,), name=f"provision-{record.id}", daemon=True
        ).start()

    def claim(self, record: SessionRecord) -> Claimed | None:
        """A warm pool sandbox now bound to the session; None when the session asks for
        sizes of its own (pool sandboxes have the defaults) or the pool is empty."""
        if record.vcpus or record.memory_mb or record.tailnet_access:
            return None
        return self.sandboxes.claim(record.id)

    def provision(self, session_id: str) -> None:
        """A sandbox for the session: for one with a workspace (resume, restore, fork), a
        warm pool sandbox it is attached to when the driver can; else a new one."""
        record = self.store.get(session_id)
        if record is None or self.attach_from_pool(record):
            return
        workspace = record.workspace or new_workspace_id()
        sandbox_id = new_sandbox_id()
        self.sandboxes.register(sandbox_id, workspace, session_id)
        try:
            self.driver.start(
                SandboxSpec(
                    sandbox_id=sandbox_id,
                    workspace_id=workspace,
                    vcpus=record.vcpus,
                    memory_mb=record.memory_mb,
                    tailnet_access=record.tailnet_access,
                )
            )
            self.wait_ready(sandbox_id)
            self.attach(session_id, sandbox_id, workspace)
        except NetclodeError as exc:
            self.discard_sandbox(sandbox_id)
            self.fail(session_id, f"sandbox failed to start: {exc.message}")
        except Exception as exc:
            log.exception("provisioning session %s failed", session_id)
            self.discard_sandbox(sandbox_id)
            self.fail(session_id, f"sandbox failed to start: {exc.__class__.__name__}")

    def attach_from_pool(self, record: SessionRecord) -> bool:
        """The session's workspace attached to a warm pool sandbox: no process starts, so
        it is done inline (READY, or paused saying why, when this returns). False when the
        pool cannot serve it: no workspace yet, sizes of its own, an empty pool, a driver
        that cannot attach, or a pool sandbox found dead (its host restarted since the pool
        filled: it is discarded, the session untouched)."""
        if not (record.workspace and self.driver.attaches_workspaces):
            return False
        claimed = self.claim(record)
        if claimed is None:
            return False
        attached = self._attach_claimed(record, claimed.sandbox_id)
        threading.Thread(
            target=self._after_attach,
            args=(record.id, claimed.sandbox_id, claimed.workspace),
            name=f"attached-{record.id}",
            daemon=True,
        ).start()
        return attached

    def _attach_claimed(self, record: SessionRecord, sandbox_id: str) -> bool:
        """The workspace attached to the claimed sandbox, then the sandbox bound; a failure
        pauses the session. False, and the session untouched, when the sandbox was dead."""
        try:
            self.driver.attach_workspace(sandbox_id, record.workspace)
        except Exception as exc:
            if self._dead(sandbox_id):
                log.info("pool sandbox %s was gone, not given to %s", sandbox_id, record.id)
                self.discard_sandbox(sandbox_id)
                return False
            self._attach_failed(record, sandbox_id, exc)
            return True
        try:
            self.attach(record.id, sandbox_id, record.workspace)
        except Exception as exc:
            self._attach_failed(record, sandbox_id, exc)
        return True

    def _attach_failed(self, record: SessionRecord, sandbox_id: str, exc: Exception) -> None:
        """The session is paused, saying why, and nothing of the attempt stays: the sandbox
        is stopped, its token revoked, the workspace as it was."""
        why = exc.message if isinstance(exc, NetclodeError) else exc.__class__.__name__
        log.warning("session %s could not resume on %s: %s", record.id, sandbox_id, why)
        current = self.store.get(record.id)
        if current is not None and current.sandbox == sandbox_id:  # bound before it failed
            self.release_sandbox(current)
        self.discard_sandbox(sandbox_id)
        self.stream(record.id).append(
            entries.error("SESSION_ERROR", f"the session could not resume: {why}")
        )
        self.transition(
            record.id,
            S.SESSION_STATUS_PAUSED,
            allowed=(
                S.SESSION_STATUS_CREATING,
                S.SESSION_STATUS_RESUMING,
                S.SESSION_STATUS_READY,
            ),
        )

    def _after_attach(self, session_id: str, sandbox_id: str, fresh: str) -> None:
        """Off the resume's path (it answers first): the fresh workspace the pool sandbox
        started on goes, never used (a failure is only logged: the session's own workspace
        is what matters), and the pool function hears it should refill."""
        try:
            self.driver.delete_workspace(fresh)
        except NetclodeError as exc:
            log.warning("unused workspace %s not deleted: %s", fresh, exc.message)
        self.announce(session_id, types.SESSION_RESUMED, f"{session_id}:resumed:{sandbox_id}")

    def wait_ready(self, sandbox_id: str) -> None:
        """Raises with the reason when the sandbox died or did not answer in time."""
        if failed := wait_ready(self.driver, [sandbox_id]):
            raise NetclodeError(failed[sandbox_id])

    def _alive(self, sandbox_id: str) -> bool:
        return any(s.sandbox_id == sandbox_id and s.alive for s in self.driver.list())

    def _dead(self, sandbox_id: str) -> bool:
        """The host lists the sandbox dead or not at all (False when it cannot tell)."""
        try:
            return not self._alive(sandbox_id)
        except NetclodeError:
            return False

    def attach(self, session_id: str, sandbox_id: str, workspace: str) -> None:
        """Hands a ready sandbox its session (config + fresh token), then delivers prompts.

        On a warm claim this is the whole wait between create and READY, so the Redis writes
        go out as one pipeline and one connection to the sandbox carries every call.
        """
        record = self.store.get(session_id)
        if record is None or record.status not in (
            S.SESSION_STATUS_CREATING,
            S.SESSION_STATUS_RESUMING,
        ):
            # Deleted or paused while the sandbox started: it is not needed any more.
            self.discard_sandbox(sandbox_id)
            return
        github_token = (
            self.grant_github(record)  # a new token on every resume
            if record.status == S.SESSION_STATUS_RESUMING
            else bool(record.repos) and self.github.holds(record.id)  # granted at create
        )
        token = new_token(SESSION_TOKEN_PREFIX)
        token_hash = hash_token(token)
        self.sandboxes.bind(sandbox_id, session_id, workspace, token_hash)
        rpc = self.driver.rpc(sandbox_id)
        try:
            config = self.session_config(record, github_token)
            rpc.call(
                "Assign",
                agent_pb2.AssignRequest(config=config, session_token=token),
                agent_pb2.AssignResponse,
            )
            if record.status == S.SESSION_STATUS_RESUMING:  # a new session has none saved
                ports.reexpose(self.r, self.driver, session_id, sandbox_id)
            moved = self.transition(
                session_id,
                S.SESSION_STATUS_READY,
                allowed=(S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING),
            )
            if moved is not None:
                self._deliver(moved.id, sandbox_id, rpc)
        finally:
            rpc.close()

    def session_config(self, record: SessionRecord, github_token: bool) -> agent_pb2.SessionConfig:
        """What the sandbox is told; `github_token`: the proxy holds one for the session."""
        from netclode import codexauth
        from netclode_protocol import providers

        env = providers.sandbox_env(
            providers.ProviderSettings.from_env(), record.sdk_type, record.model
        )
        env |= codexauth.session_env(self.r, record.sdk_type, record.model)
        env["NETCLODE_MODEL_GIVE_UP_S"] = f"{self.settings.model_give_up_s:g}"
        if github_token:
            env |= providers.github_env()
        return agent_pb2.SessionConfig(
            session_id=record.id,
            repos=record.repos,
            repo_access=record.repo_access,  # type: ignore[arg-type]
            sdk_type=record.sdk_type,  # type: ignore[arg-type]
            model=record.model,
            env=env,
            want_title=not record.titled,
            github_token=github_token,
        )

    def deliver_pending(self, record: SessionRecord) -> bool:
        """Hands the session's sandbox its next prompt, if no turn is open there; True if a
        prompt still waits (behind the open turn)."""
        if not record.sandbox:
            return False
        rpc = self.driver.rpc(record.sandbox)
        try:
            self._deliver(record.id, record.sandbox, rpc)
        finally:
            rpc.close()
        return bool(self.turns.queued(record.id))

    def _deliver(self, session_id: str, sandbox_id: str, rpc: SandboxRPC) -> None:
        """One prompt at a time (see netclode.store.turns): the next one goes out when
        this turn's end has been ingested and its snapshot cut."""
        prompt = self.turns.issue_next(session_id, sandbox_id)
        if prompt is not None:
            try:
                rpc.call(
                    "Prompt",
                    agent_pb2.PromptRequest(text=prompt.text, prompt_id=prompt.id),
                    agent_pb2.PromptResponse,
                )
            except Exception:
                self.turns.give_back(session_id, prompt)
                raise

    def release_sandbox(self, record: SessionRecord) -> None:
        """Revokes the session token first (the proxies stop honouring it), then stops."""
        if record.token_hash:
            SessionTokenStore(self.r).revoke(record.token_hash)
        self.store.update(record.id, token_hash="", sandbox="")
        if record.sandbox:
            self.discard_sandbox(record.sandbox)

    def discard_sandbox(self, sandbox_id: str) -> None:
        self.driver.stop(sandbox_id)
        self.sandboxes.forget(sandbox_id)

    def pause(self, record: SessionRecord, reason: str) -> SessionRecord | None:
        log.info("pausing session %s (%s)", record.id, reason)
        self.release_sandbox(record)
        return self.transition(record.id, S.SESSION_STATUS_PAUSED)

    def sandbox_lost(self, record: SessionRecord) -> None:
        """The sandbox died under the session: a running turn is interrupted. Else a prompt
        it was handed but never started goes to a new sandbox (the session resumes for it:
        the user waits for its answer), and with none the session is paused."""
        log.warning("session %s lost its sandbox %s", record.id, record.sandbox)
        self.release_sandbox(record)
        if record.status == S.SESSION_STATUS_RUNNING:
            self.stream(record.id).append(
                entries.bare_event(events_pb2.AGENT_EVENT_KIND_AGENT_DISCONNECTED)
            )
            self.transition(record.id, S.SESSION_STATUS_INTERRUPTED)
        elif record.sandbox and self.turns.give_back_unstarted(record.id, record.sandbox):
            if (moved := self.transition(record.id, S.SESSION_STATUS_RESUMING)) is not None:
                self.serve(moved)
        else:
            self.transition(record.id, S.SESSION_STATUS_PAUSED)

    def notice_lost(self, record: SessionRecord) -> bool:
        """After a call to the session's sandbox failed: if the host lists the sandbox dead
        or not at all, the session leaves READY now rather than at the pool's next tick.
        False when the sandbox lives, when the host cannot tell (it is not running), or
        when the session has moved on meanwhile."""
        if not record.sandbox or not self._dead(record.sandbox):
            return False
        current = self.store.get(record.id)
        if current is None or current.sandbox != record.sandbox:
            return False
        self.sandbox_lost(current)
        return True

    def make_room(self, owner_id: str, exclude: str | None = None) -> None:
        """Makes room for one more active session of `owner_id`, never at another user's
        expense: the owner's own least recently active sessions are paused until the owner
        is under the per-user quota and the stack under its limit. When giving up all of
        them would not be enough (other users hold the slots) the call is refused and
        nothing is paused."""
        active = [
            a for a in self.store.activity() if a.status in ACTIVE and a.session_id != exclude
        ]
        own = sorted((a for a in active if a.owner_id == owner_id), key=lambda a: a.last_active_at)
        quota = self.settings.max_active_sessions_per_user
        limit = self.settings.max_active_sessions
        over_quota = len(own) - quota + 1 if quota > 0 else 0
        over_limit = len(active) - limit + 1 if limit > 0 else 0
        if over_limit > len(own):
            raise ResourceExhausted(
                f"other users hold {len(active) - len(own)} of the {limit} active sessions "
                "this server allows (NETCLODE_MAX_ACTIVE_SESSIONS); try again later"
            )
        for activity in own[: max(0, over_quota, over_limit)]:
            if (record := self.store.get(activity.session_id)) is not None:
                self.pause(record, "active-session limit")
