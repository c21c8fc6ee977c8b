"""The proxy's settings: mitmproxy options whose defaults come from the environment.

`--set netclode_redis_url=...` on the proxy's command line and the env names below configure
the same thing, so the local stack (command line) and the Kubernetes Deployment (env) share
one code path.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from netclode_protocol.settings import read_text, setting
from netclode_secret_proxy.destinations import Mapping
from netclode_secret_proxy.table import SecretRule, build_table

# option name -> the setting giving its default (netclode_protocol.settings: help included).
OPTIONS: dict[str, str] = {
    "netclode_redis_url": "NETCLODE_REDIS_URL",
    "netclode_secrets_file": "NETCLODE_SECRETS_FILE",
    "netclode_allow_addresses": "NETCLODE_PROXY_ALLOW_ADDRESSES",
    "netclode_ollama_url": "OLLAMA_URL",
    "netclode_egress_hosts": "NETCLODE_PROXY_EGRESS_HOSTS",
    "netclode_resolve": "NETCLODE_PROXY_RESOLVE",
    "netclode_key_hosts": "NETCLODE_PROXY_KEY_HOSTS",
    "netclode_injections_per_minute": "NETCLODE_PROXY_INJECTIONS_PER_MINUTE",
    "netclode_token_cache_s": "NETCLODE_PROXY_TOKEN_CACHE_S",
    "netclode_control_listen": "NETCLODE_PROXY_CONTROL_LISTEN",
    "netclode_state_dir": "NETCLODE_PROXY_STATE_DIR",
    "netclode_codex_issuer": "NETCLODE_CODEX_ISSUER",
    "netclode_github_api_url": "NETCLODE_GITHUB_API_URL",
}

CONTROL_TOKEN_ENV = "NETCLODE_PROXY_CONTROL_TOKEN"
MAX_TOKEN_CACHE_S = 5.0


def option_default(name: str) -> str:
    """The option's value from the environment, unparsed: parse_config checks it, whether it
    came from there or from `--set`."""
    return read_text(OPTIONS[name])


def option_help(name: str) -> str:
    entry = setting(OPTIONS[name])
    return f"{entry.help} Default: ${entry.name}."


@dataclass(frozen=True)
class ProxyConfig:
    redis_url: str
    secrets_file: str
    allow_addresses: tuple[tuple[str, int], ...]
    egress_hosts: tuple[str, ...]
    resolve: tuple[Mapping, ...]
    table: tuple[SecretRule, ...]
    token_cache_s: float
    injections_per_minute: int
    control_listen: tuple[str, int] | None = None
    control_token: str = field(default="", repr=False)
    state_dir: str = ""
    codex_issuer: str = ""
    github_api_url: str = ""


def parse_host_port(entry: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); one-line error otherwise."""
    host, sep, port = entry.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {entry!r}")
    return host.strip("[]"), int(port)


def parse_resolve(raw: str) -> tuple[Mapping, ...]:
    """`name[:port]=address[:port]` entries; the address must be an IP literal."""
    out = []
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        source, sep, target = entry.partition("=")
        try:
            name, port = _split_port(source.strip())
            address, to_port = _split_port(target.strip())
            ip = ipaddress.ip_address(address)
            if not sep or not name:
                raise ValueError(entry)
        except ValueError:
            raise ValueError(f"expected name[:port]=address[:port], got {entry!r}") from None
        out.append(Mapping(name.lower().rstrip("."), port, ip, to_port))
    return tuple(out)


def _split_port(text: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` -> (host, port or 0)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, parse_host_port(f"[{host}]{rest}")[1] if rest else 0
    if text.count(":") == 1:
        return parse_host_port(text)
    return text, 0


def ollama_destination(url: str) -> tuple[tuple[str, int], ...]:
    """The one host:port an OLLAMA_URL names (the scheme's port when it names none)."""
    if not url.strip():
        return ()
    parsed = urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"OLLAMA_URL must be an http(s) URL, got {url!r}")
    return ((parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)),)


def parse_key_hosts(raw: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        key, sep, host = entry.partition("=")
        if not sep or not key.strip() or not host.strip():
            raise ValueError(f"expected KEY=host, got {entry!r}")
        out[key.strip()].append(host.strip().lower().rstrip("."))
    return out


def parse_config(values: dict[str, str]) -> ProxyConfig:
    """Builds the config from option values; raises ValueError with a one-line message."""
    cache_s = float(values["netclode_token_cache_s"])
    if not 0 < cache_s <= MAX_TOKEN_CACHE_S:
        raise ValueError(f"netclode_token_cache_s must be in (0, {MAX_TOKEN_CACHE_S}]")
    per_minute = values["netclode_injections_per_minute"].strip()
    if not per_minute.isdigit():
        raise ValueError("netclode_injections_per_minute must be a whole number >= 0")
    allow = values["netclode_allow_addresses"]
    return ProxyConfig(
        redis_url=values["netclode_redis_url"],
        secrets_file=values["netclode_secrets_file"],
        allow_addresses=(
            *(parse_host_port(e) for e in allow.split(",") if e.strip()),
            *ollama_destination(values["netclode_ollama_url"]),
        ),
        egress_hosts=tuple(
            h.strip().lower().rstrip(".")
            for h in values["netclode_egress_hosts"].split(",")
            if h.strip()
        ),
        resolve=parse_resolve(values["netclode_resolve"]),
        table=build_table(parse_key_hosts(values["netclode_key_hosts"])),
        token_cache_s=cache_s,
        injections_per_minute=int(per_minute),
        **_control(values),
    )


def _control(values: dict[str, str]) -> dict:
    """The control endpoint's settings; its token only ever from the environment."""
    listen = values["netclode_control_listen"].strip()
    token = read_text(CONTROL_TOKEN_ENV)
    if listen and len(token) < 32:
        raise ValueError(f"netclode_control_listen needs {CONTROL_TOKEN_ENV} (32+ characters)")
    return {
        "control_listen": parse_host_port(listen) if listen else None,
        "control_token": token,
        "state_dir": values["netclode_state_dir"].strip(),
        "codex_issuer": values["netclode_codex_issuer"].strip(),
        "github_api_url": values["netclode_github_api_url"].strip(),
    }
