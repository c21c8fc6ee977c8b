"""`netclode up`, `down` and `status`: start the supervisor in the background, stop it, and
report what runs where."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from netclode_local.stack.layout import Layout
from netclode_protocol.waiting import wait_until

UP_TIMEOUT_S = 90.0
DOWN_TIMEOUT_S = 60.0


class StackError(Exception):
    """A one-line reason the stack could not be started or stopped."""


@dataclass
class ComponentStatus:
    name: str
    url: str
    kind: str
    state: str  # "running" or "down"
    # How often the supervisor restarted it, and why last (a component that keeps failing).
    restarts: int = 0
    last_exit: str = ""


def _alive(pid: int) -> bool:
    """Whether process `pid` runs. A supervisor started by this very process is reaped here;
    another dead process its parent has not reaped yet is a zombie, not running."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def running_pid(layout: Layout) -> int | None:
    state = layout.read_state()
    if not state or state.get("status") == "failed":
        return None
    pid = int(state.get("pid", 0))
    return pid if pid and _alive(pid) else None


def up(
    layout: Layout,
    env: dict[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict:
    """Starts the stack if it is not running; returns its state once every part answers.

    `env` adds settings (e.g. NETCLODE_POOL_SIZE) for every component of this start. `environ` is
    the environment the stack starts from, this process's by default (a user's keys and
    settings); a test passes one built from scratch so its own shell cannot leak in.
    """
    import subprocess  # here: every CLI call imports this module to find the stack

    if running_pid(layout):
        return layout.read_state() or {}
    layout.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    layout.state_file.unlink(missing_ok=True)
    base = os.environ if environ is None else environ
    subprocess.Popen(
        [sys.executable, "-m", "netclode_local.stack.supervisor"],
        env={**base, **layout.environ(), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def running() -> dict | None:
        state = layout.read_state()
        if state and state.get("status") == "failed":
            raise StackError(f"{state.get('error')} (logs: {layout.logs})")
        return state if state and state.get("status") == "running" else None

    return wait_until(
        running,
        timeout=UP_TIMEOUT_S,
        every=0.1,
        what="the stack did not start",
        error=lambda why: StackError(f"{why} (logs: {layout.logs})"),
    )


def down(layout: Layout) -> bool:
    """Stops the stack; False if it was not running."""
    pid = running_pid(layout)
    if pid is None:
        layout.state_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    return wait_until(
        lambda: not _alive(pid),
        timeout=DOWN_TIMEOUT_S,
        every=0.1,
        what=f"the supervisor (pid {pid}) did not stop",
        error=StackError,
    )


def status(layout: Layout) -> list[ComponentStatus]:
    state = layout.read_state() if running_pid(layout) else None
    if not state:
        return []
    return [
        ComponentStatus(
            name,
            info["url"],
            info.get("kind", "function"),
            _state(info),
            info.get("restarts", 0),
            info.get("last_exit", ""),
        )
        for name, info in state.get("components", {}).items()
    ]


def llm_providers(layout: Layout) -> list[str] | None:
    """The LLM providers the running stack can serve (keys its secret proxy holds, Ollama);
    None when it is not running."""
    state = layout.read_state() if running_pid(layout) else None
    return None if state is None else list(state.get("llm_providers", []))


def confinement(layout: Layout) -> dict[str, object] | None:
    """How the sandbox host confines its sandboxes (cgroups or rlimits, /tmp, quota,
    seccomp), from its GET /info; None when it is not running or does not answer."""
    import httpx

    from netclode.drivers.hostlayout import Layout as SandboxLayout

    if not running_pid(layout):
        return None
    transport = httpx.HTTPTransport(uds=str(SandboxLayout(layout.data).host_socket))
    try:
        with httpx.Client(transport=transport, base_url="http://sandboxhost", timeout=2) as c:
            return dict(c.get("/info").raise_for_status().json()["confinement"])
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def _state(info: dict) -> str:
    """The ports of the functions and the broker are held by the supervisor and accept
    connections while the component is down (see components.listen): a component runs
    while its process does. An answer is not asked for, as a function busy with its only
    request (Knative's concurrency 1) would not give it."""
    running = serves(info["url"], held=False, timeout=0.5)
    if "pid" in info:
        running = running and _alive(int(info["pid"]))
    return "running" if running else "down"


def serves(url: str, *, held: bool, timeout: float) -> bool:
    """Whether the component at `url` (http:// or unix://) serves. On a socket the supervisor
    holds (`held`, see `listen`) connections are accepted into its backlog while the function
    is down or still starting: such a component serves once it answers an HTTP request."""
    parsed = urlparse(url)
    family = socket.AF_UNIX if parsed.scheme == "unix" else socket.AF_INET
    address = parsed.path if parsed.scheme == "unix" else (parsed.hostname, parsed.port or 80)
    with socket.socket(family) as s:
        s.settimeout(timeout)
        if s.connect_ex(address) != 0:
            return False
        if not held:
            return True
        try:
            s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(5) == b"HTTP/"
        except OSError:
            return False
