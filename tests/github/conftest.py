"""Fixtures for the GitHub suites: payload fixtures, the GitHub stand-in, function processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from netclode.github import signature
from netclode.serving import function_command
from tests.support.net import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = Path(__file__).resolve().parent / "payloads"  # vendored, MIT: see LICENSE.md there
FUNCTION_SOURCE = REPO_ROOT / "functions" / "main.py"
SECRET = "test-webhook-secret"


def payload(name: str) -> dict[str, Any]:
    """A real GitHub payload from the vendored examples (read fresh, so tests may edit it)."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def signed(body: bytes, secret: str = SECRET) -> str:
    return signature.sign(secret, body)


class FunctionProcess:
    """One function process serving a Netclode target on loopback, as the stack runs it."""

    def __init__(self, target: str, env: dict[str, str], log: Path) -> None:
        self.target = target
        self.env = env
        self.log = log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FunctionProcess:
        argv = function_command(self.target, FUNCTION_SOURCE, self.port)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for_port(self.port, timeout=30)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group (server and its workers), as a crashed pod."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def new_app_private_key() -> str:
    """A GitHub App's private key (PEM), as GitHub hands one out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="session")
def app_private_key() -> str:
    return new_app_private_key()


@contextmanager
def _launcher(log_dir: Path) -> Iterator[Callable[..., FunctionProcess]]:
    started: list[FunctionProcess] = []

    def start(target: str, env: dict[str, str]) -> FunctionProcess:
        fn = FunctionProcess(target, env, log_dir / f"{target}-{len(started)}.log").start()
        started.append(fn)
        return fn

    try:
        yield start
    finally:
        for fn in started:
            fn.stop()


@pytest.fixture
def start_function(tmp_path: Path) -> Iterator[Callable[..., FunctionProcess]]:
    with _launcher(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def start_module_function(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., FunctionProcess]]:
    """Processes shared by a module's tests (a function process takes seconds to import)."""
    with _launcher(tmp_path_factory.mktemp("functions")) as start:
        yield start


@pytest.fixture(scope="module")
def module_redis_url(valkey_server) -> str:
    return f"redis://{valkey_server.host}:{valkey_server.port}/0"


def send_event(url: str, event_type: str, data: dict, event_id: str, source: str) -> httpx.Response:
    """POSTs one CloudEvent in binary mode, as the Broker delivers it to a Trigger's subscriber."""
    headers, body = to_binary(
        CloudEvent({"type": event_type, "source": source, "id": event_id}, data)
    )
    return httpx.post(url, headers=headers, content=body, timeout=60)
