"""One real local stack whose model APIs are what a user meets on day one: Ollama on
127.0.0.1, an Anthropic API that answers 529 forever, an OpenAI API nothing listens on.

The keyed APIs are HTTPS servers on 127.0.0.2 (reached through the secret proxy, which
holds their real keys from the stack's secrets.env and trusts their certificate);
Ollama is the scripted LLM on 127.0.0.1, as `ollama serve` runs by default.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.secretproxy.upstream import self_signed
from tests.support.net import free_port
from tests.support.scripted_llm import ScriptedLLM, ollama_standin, overloaded
from tests.support.stack import Stack, start, stop

PROVIDER_IP = "127.0.0.2"


@contextmanager
def provider_stack(
    root: Path,
    cert: tuple[Path, Path],
    keys: dict[str, str],
    allow: list[str],
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """A stack whose secret proxy holds `keys` (env name -> real key) for the providers on
    PROVIDER_IP, may reach just the `allow` addresses there, and trusts their `cert`."""
    proxied = {
        "NETCLODE_PROXY_KEY_HOSTS": ",".join(f"{k}={PROVIDER_IP}" for k in keys),
        "NETCLODE_PROXY_ALLOW_ADDRESSES": ",".join(allow),
        "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
        "NETCLODE_POOL_SIZE": "1",
    }
    stack = start(root, {**proxied, **(env or {})}, keys=keys)
    try:
        yield stack
    finally:
        stop(stack)


@dataclass
class ScriptedWorld:
    """A stack whose secret proxy holds `key` for one scripted keyed API on PROVIDER_IP."""

    stack: Stack
    llm: ScriptedLLM
    key: str


@contextmanager
def scripted_world(
    root: Path,
    held: tuple[str, str],
    llm_keys: dict[str, str],
    env: Callable[[ScriptedLLM], dict[str, str]],
    titles: str,
) -> Iterator[ScriptedWorld]:
    """A scripted LLM over HTTPS on PROVIDER_IP accepting `llm_keys` (provider -> key), and a
    provider_stack whose secret proxy holds `held` (env name, real key) and whose `env(llm)`
    points the sessions at that LLM."""
    cert = self_signed(root, ips=(PROVIDER_IP,))
    name, key = held
    with (
        ScriptedLLM(cert, PROVIDER_IP, keys=llm_keys, titles=titles) as llm,
        provider_stack(root, cert, {name: key}, [llm.address], env(llm)) as stack,
    ):
        yield ScriptedWorld(stack, llm, key)


@dataclass
class World:
    stack: Stack
    ollama: ScriptedLLM
    overloaded: ScriptedLLM  # plays Anthropic, overloaded for good
    dead_address: str  # where OpenAI should be: nothing listens


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The stack's settings: the module's STACK_SETTINGS on top of the providers' URLs."""
    root: Path = tmp_path_factory.mktemp("llm-stack")
    keys = {
        "ANTHROPIC_API_KEY": f"sk-ant-{secrets.token_hex(20)}",
        "OPENAI_API_KEY": f"sk-proj-{secrets.token_hex(20)}",
    }
    cert = self_signed(root, ips=(PROVIDER_IP,))
    llm_keys = {"anthropic": keys["ANTHROPIC_API_KEY"], "openai": keys["OPENAI_API_KEY"]}
    # Asks for a minute's pause: more than a turn may wait.
    busy = ScriptedLLM(cert, PROVIDER_IP, keys=llm_keys, forever=overloaded(retry_after=60))
    dead = f"{PROVIDER_IP}:{free_port()}"
    with ollama_standin() as ollama, busy:
        env = {
            "OLLAMA_URL": ollama.ollama_url,
            "ANTHROPIC_BASE_URL": busy.url,
            "OPENAI_BASE_URL": f"https://{dead}/v1",
            **getattr(request.module, "STACK_SETTINGS", {}),
        }
        with provider_stack(root, cert, keys, [busy.address, dead], env) as stack:
            yield World(stack, ollama, busy, dead)
