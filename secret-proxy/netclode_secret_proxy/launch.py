"""How to start the secret proxy: the one command line both stacks use."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from netclode_secret_proxy.ca import ensure_ca


def secret_proxy_command(
    confdir: Path,
    listen_port: int,
    redis_url: str,
    secrets_file: Path | None,
    *,
    listen_host: str = "127.0.0.1",
    allow_addresses: Sequence[str] = (),
    ollama_url: str = "",
    key_hosts: Mapping[str, Sequence[str]] | None = None,
    token_cache_s: float | None = None,
    injections_per_minute: int | None = None,
    upstream_ca: Path | None = None,
    resolve: Sequence[str] = (),
    control_port: int = 0,
    state_dir: Path | None = None,
) -> list[str]:
    """argv for the proxy process (server.py); creates the CA under `confdir` if missing.

    `connection_strategy=lazy`: no upstream is dialled before the request has been
    authenticated and checked. `upstream_ca` replaces the system trust for upstream TLS
    (tests use it for a local HTTPS server); `resolve` maps names to addresses
    (NETCLODE_PROXY_RESOLVE applies when it is not given). `control_port`: the control
    endpoint on the listen host (its token goes in the environment, NETCLODE_PROXY_CONTROL_
    TOKEN); `state_dir`: where the Codex sign-in is kept. No secret value is ever on this
    command line.
    """
    ensure_ca(confdir)
    opts = {
        "confdir": str(confdir),
        "connection_strategy": "lazy",
        "stream_large_bodies": "8m",
        "netclode_redis_url": redis_url,
        "netclode_secrets_file": str(secrets_file or ""),
        "netclode_allow_addresses": ",".join(allow_addresses),
        "netclode_ollama_url": ollama_url,
        "netclode_key_hosts": ",".join(
            f"{key}={host}" for key, hosts in (key_hosts or {}).items() for host in hosts
        ),
    }
    if token_cache_s is not None:
        opts["netclode_token_cache_s"] = str(token_cache_s)
    if injections_per_minute is not None:
        opts["netclode_injections_per_minute"] = str(injections_per_minute)
    if resolve:
        opts["netclode_resolve"] = ",".join(resolve)
    if control_port:
        opts["netclode_control_listen"] = f"{listen_host}:{control_port}"
    if state_dir is not None:
        opts["netclode_state_dir"] = str(state_dir)
    if upstream_ca is not None:
        opts["ssl_verify_upstream_trusted_ca"] = str(upstream_ca)
    argv = [sys.executable, "-m", "netclode_secret_proxy.runner", "--quiet", "--mode", "regular"]
    argv += ["--listen-host", listen_host, "--listen-port", str(listen_port)]
    for name, value in opts.items():
        argv += ["--set", f"{name}={value}"]
    return argv
