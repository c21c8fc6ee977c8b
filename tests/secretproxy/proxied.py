"""The real local stack with real (fake but unique) provider keys held by its secret proxy.

Keys live only in the stack's `<config>/secrets.env`, as a user would put them. Two HTTPS
servers on 127.0.0.2 (a loopback address a sandbox's NO_PROXY does not cover, so its
clients go through the proxy as they would to a real provider) play the providers: an
echo server and the scripted LLM (which answers only requests bearing these real keys,
so every model call must have passed the proxy), whose self-signed cert the proxy trusts through
NETCLODE_PROXY_UPSTREAM_CA. Both are on the keys' allow-lists and are the only loopback
endpoints the proxy may reach (NETCLODE_PROXY_KEY_HOSTS, NETCLODE_PROXY_ALLOW_ADDRESSES).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netclode_protocol.providers import placeholder
from tests.secretproxy.upstream import Upstream, echo_server, self_signed
from tests.support.scripted_llm import ScriptedLLM
from tests.support.stack import Stack, start, stop

PROVIDER_IP = "127.0.0.2"
# Every real key (and the decoy) is MARKER-<40 hex>: a sandbox probe can search for the
# shape without ever being told a value.
MARKER = "nctest"
SHAPE = MARKER + r"-[0-9a-f]{40}"


def shaped(prefix: str) -> str:
    return f"{prefix}{MARKER}-{secrets.token_hex(20)}"


@dataclass
class ProxiedStack:
    stack: Stack
    keys: dict[str, str]
    echo: Upstream
    llm: ScriptedLLM

    @property
    def echo_url(self) -> str:
        return f"https://{PROVIDER_IP}:{self.echo.port}"

    @staticmethod
    def placeholder(key: str) -> str:
        return placeholder(key)


@contextmanager
def proxied_stack(root: Path) -> Iterator[ProxiedStack]:
    keys = {"ANTHROPIC_API_KEY": shaped("sk-ant-"), "OPENAI_API_KEY": shaped("sk-proj-")}
    cert = self_signed(root, ips=(PROVIDER_IP,))
    llm_keys = {"anthropic": keys["ANTHROPIC_API_KEY"], "openai": keys["OPENAI_API_KEY"]}
    with (
        echo_server(cert, host=PROVIDER_IP) as echo,
        ScriptedLLM(cert, PROVIDER_IP, keys=llm_keys) as llm,
    ):
        llm_port = llm.url.rsplit(":", 1)[1]
        env = {
            "NETCLODE_PROXY_KEY_HOSTS": ",".join(f"{k}={PROVIDER_IP}" for k in keys),
            "NETCLODE_PROXY_ALLOW_ADDRESSES": f"{PROVIDER_IP}:{echo.port},{PROVIDER_IP}:{llm_port}",
            "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
            "ANTHROPIC_BASE_URL": llm.url,
            "NETCLODE_POOL_SIZE": "1",
        }
        stack = start(root, env, keys=keys)
        try:
            yield ProxiedStack(stack, keys, echo, llm)
        finally:
            stop(stack)
