"""What the local stack runs: one process per Knative Service, the eventing stand-in, and
the long-lived workloads. Each is described once here; the supervisor only runs them."""

from __future__ import annotations

import os
import secrets
import socket
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from socket import socket as Socket

from netclode.eventing.topology import Topology
from netclode.serving import function_command
from netclode_local.stack.control import serves
from netclode_local.stack.layout import FUNCTION_SOURCE, MANIFESTS, Layout
from netclode_protocol.providers import GITHUB_TOKEN
from netclode_protocol.settings import read_text

BROKER_PATH = "/netclode/default"
# free_port: ports below the ephemeral range from here up (above the well-known services'),
# tried this many times before the kernel picks.
PORT_FLOOR = 10000
PORT_TRIES = 64
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
# The ports free_port handed out last: two plans in a row (mitmproxy's two ports) must not
# get the same one, as neither is bound until its server starts.
_planned: deque[int] = deque(maxlen=256)


@dataclass
class Component:
    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    kind: str = "function"
    # For components reached over a Unix socket instead of a port.
    socket: Path | None = None
    # The listening socket it serves on, held by the supervisor (see `listen`).
    listener: Socket | None = None  # (`socket` here would name the field above)
    # Further endpoints it must serve before it counts as ready (the proxy's control one).
    also_serves: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"unix://{self.socket}" if self.socket else f"http://127.0.0.1:{self.port}"

    def answering(self) -> bool:
        """Whether the component serves yet (on every endpoint it has)."""
        held = self.listener is not None
        return serves(self.url, held=held, timeout=1.0) and all(
            serves(url, held=False, timeout=1.0) for url in self.also_serves
        )


def free_port() -> int:
    """A loopback port free now, for a server that binds it itself (Valkey, mitmproxy).

    Drawn from below the kernel's ephemeral range: the client end of every connection this
    machine opens takes a port from that range, so a port found free there can be taken by
    one before the server binds it (Valkey's start failed so on a busy host). Where the
    range leaves no room below it, the kernel picks (the old race, rare)."""
    ceiling = _ephemeral_range()[0]
    if ceiling - PORT_FLOOR >= PORT_TRIES:
        for _ in range(PORT_TRIES):
            port = PORT_FLOOR + secrets.randbelow(ceiling - PORT_FLOOR)
            if port in _planned:  # planned here lately, perhaps not bound yet
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:  # a server's, or a connection's still closing
                    continue
            _planned.append(port)
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out to clients (Linux; the IANA range elsewhere)."""
    try:
        low, high = Path(EPHEMERAL_RANGE).read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


def listen(port: int = 0) -> socket.socket:
    """A listening socket on loopback that the supervisor holds for as long as the stack
    runs, and that every run of the component serving it inherits. A port that was only
    planned (found free, then let go) could be taken by another process before the component
    bound it, or while it restarted; the stack's URL then reached somebody else's server."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class Plan:
    """The ports and shared settings of one stack start."""

    redis_url: str
    api_port: int
    broker_port: int
    proxy_port: int
    service_ports: dict[str, int]
    # The secret proxy's control endpoint (netclode_secret_proxy.control), for the api only.
    proxy_control_port: int = 0
    # The providers whose key the secret proxy holds (see netclode_protocol.providers).
    providers: tuple[str, ...] = ()
    # The Services' listening sockets (see `listen`), on `service_ports`.
    listeners: dict[str, socket.socket] = field(default_factory=dict)
    # The broker ingress's listening socket, on `broker_port`.
    broker_listener: socket.socket | None = None

    @property
    def broker_url(self) -> str:
        return f"http://127.0.0.1:{self.broker_port}{BROKER_PATH}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[name]}"


def service_listeners(topology: Topology, api_port: int) -> dict[str, socket.socket]:
    """One listening socket per Knative Service; the api's on `api_port` unless it is taken."""
    listeners = {}
    for name in topology.services:
        try:
            listeners[name] = listen(api_port if name == "api" else 0)
        except OSError:
            listeners[name] = listen()
    return listeners


def common_env(layout: Layout, plan: Plan) -> dict[str, str]:
    """Settings every component shares (see netclode.config.Settings)."""
    return {
        "NETCLODE_REDIS_URL": plan.redis_url,
        "NETCLODE_BROKER_URL": plan.broker_url,
        "NETCLODE_DATA_DIR": str(layout.data),
        "NETCLODE_INGEST_URL": plan.service_url("ingest") if "ingest" in plan.service_ports else "",
        "NETCLODE_SECRET_PROXY_ADDR": f"127.0.0.1:{plan.proxy_port}",
        "NETCLODE_SECRET_PROXY_CONFDIR": str(proxy_confdir(layout)),
        "NETCLODE_PROVIDERS": ",".join(plan.providers),
        "PYTHONUNBUFFERED": "1",
    }


def function_components(
    topology: Topology, layout: Layout, plan: Plan, per_service: dict[str, dict[str, str]]
) -> list[Component]:
    """One function process (functions-framework, served by netclode.serving) per Knative
    Service; `per_service` adds the settings a cluster would give that Service from Secrets
    (e.g. the bot's API token)."""
    shared = common_env(layout, plan)
    out = []
    for name, service in topology.services.items():
        target = service.env.get("FUNCTION_TARGET", name)
        signature = service.env.get("FUNCTION_SIGNATURE_TYPE", "http")
        listener = plan.listeners[name]
        port = plan.service_ports[name]
        env = {**service.env, **shared, **per_service.get(name, {}), "PORT": str(port)}
        if service.concurrency and "THREADS" not in service.env:
            # One request at a time, as Knative's containerConcurrency promises the code.
            env["THREADS"] = str(service.concurrency)
        argv = function_command(target, FUNCTION_SOURCE, port, signature, listener.fileno())
        out.append(Component(name, argv, port, env, listener=listener))
    return out


def broker_command(routes_file: Path, port: int, fd: int | None = None) -> list[str]:
    """The eventing stand-in, routing by the Triggers in knative/ to `routes_file`'s URLs;
    with `fd`, it serves that inherited listening socket (bound to `port`)."""
    return [
        sys.executable,
        "-m",
        "netclode_local.broker",
        "--manifests",
        str(MANIFESTS),
        "--routes",
        str(routes_file),
        "--port",
        str(port),
        *(["--fd", str(fd)] if fd is not None else []),
    ]


def broker_component(layout: Layout, plan: Plan, routes_file: Path) -> Component:
    listener = plan.broker_listener
    argv = broker_command(routes_file, plan.broker_port, listener.fileno() if listener else None)
    env = {"PYTHONUNBUFFERED": "1"}
    return Component("broker", argv, plan.broker_port, env, kind="eventing", listener=listener)


def sandbox_host_component(layout: Layout, plan: Plan) -> Component:
    """The long-lived owner of the bubblewrap sandboxes (see netclode_local.sandboxhost)."""
    from netclode.drivers.hostlayout import Layout as SandboxLayout

    argv = [sys.executable, "-m", "netclode_local.sandboxhost", "--data-dir", str(layout.data)]
    return Component(
        "sandboxhost",
        argv,
        0,
        common_env(layout, plan),
        kind="sandboxes",
        socket=SandboxLayout(layout.data).host_socket,
    )


def proxy_confdir(layout: Layout) -> Path:
    """The secret proxy's confdir: its CA (key included) and the CA bundle for sandboxes."""
    return layout.data / "secret-proxy"


def secrets_file(layout: Layout) -> Path:
    """The user's real keys: `<config>/secrets.env`, or NETCLODE_SECRETS_FILE."""
    return Path(read_text("NETCLODE_SECRETS_FILE") or layout.config / "secrets.env")


def github_token(layout: Layout) -> str:
    """The personal GITHUB_TOKEN for sessions' repos: the environment's, else the secrets
    file's (the one-line error of a broken file is the proxy's to report)."""
    from netclode_secret_proxy.secrets import SecretsFileError, parse_dotenv

    if token := read_text(GITHUB_TOKEN):
        return token
    path = secrets_file(layout)
    try:
        return parse_dotenv(path.read_text(), str(path)).get(GITHUB_TOKEN, "").strip()
    except (OSError, SecretsFileError):
        return ""


def proxy_control_env(plan: Plan, token: str) -> dict[str, str]:
    """What the api needs to reach the proxy's control endpoint (netclode.codexauth)."""
    from netclode import codexauth

    return {
        codexauth.CONTROL_URL_ENV: f"http://127.0.0.1:{plan.proxy_control_port}",
        codexauth.CONTROL_TOKEN_ENV: token,
    }


def secret_proxy_component(layout: Layout, plan: Plan, control_token: str) -> Component:
    """The secret proxy (mitmproxy with our addon): the only component holding real keys.

    Real keys come from the user's environment or from `<config>/secrets.env`
    (NETCLODE_SECRETS_FILE overrides); the CA lives under the data dir and is made once.
    The proxy's own settings apply as documented in netclode_secret_proxy.config
    (OLLAMA_URL, NETCLODE_PROXY_ALLOW_ADDRESSES, NETCLODE_PROXY_KEY_HOSTS), plus
    NETCLODE_PROXY_UPSTREAM_CA: a PEM trusted for upstream TLS instead of the system roots
    (a self-hosted gateway, or a test's local HTTPS server). Its own state (the Codex
    sign-in) lives under the data dir; `control_token` guards its control endpoint.
    """
    from netclode_secret_proxy.config import parse_key_hosts
    from netclode_secret_proxy.launch import secret_proxy_command

    secrets = secrets_file(layout)
    allow = read_text("NETCLODE_PROXY_ALLOW_ADDRESSES").split(",")
    upstream_ca = read_text("NETCLODE_PROXY_UPSTREAM_CA")
    argv = secret_proxy_command(
        proxy_confdir(layout),
        plan.proxy_port,
        plan.redis_url,
        secrets if secrets.exists() else None,
        allow_addresses=[a.strip() for a in allow if a.strip()],
        ollama_url=read_text("OLLAMA_URL"),
        key_hosts=parse_key_hosts(read_text("NETCLODE_PROXY_KEY_HOSTS")),
        upstream_ca=Path(upstream_ca) if upstream_ca else None,
        control_port=plan.proxy_control_port,
        state_dir=layout.data / "secret-proxy-state",
    )
    env = {"NETCLODE_PROXY_CONTROL_TOKEN": control_token}
    control = f"http://127.0.0.1:{plan.proxy_control_port}"
    return Component(
        "secret-proxy", argv, plan.proxy_port, env, kind="proxy", also_serves=(control,)
    )


def held_providers(layout: Layout) -> tuple[str, ...]:
    """The providers whose key the secret proxy will hold: read the way the proxy reads
    its keys (its environment, then the secrets file), so the control plane can refuse a
    prompt the proxy could not serve. Names only; SecretsFileError on a broken file."""
    from netclode_protocol.providers import keyed_by
    from netclode_secret_proxy.secrets import load_secrets

    path = secrets_file(layout)
    held = load_secrets(str(path) if path.exists() else "", os.environ)
    return tuple(keyed_by(frozenset(held)))
