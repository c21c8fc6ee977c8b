"""Which secret may go where: key -> placeholder, destination hosts, session kinds.

A sandbox only ever holds `NETCLODE_PLACEHOLDER_<KEY>`; the proxy swaps it for the real value
when, and only when, the request's real destination is one of the key's hosts and the
session's kind (sdk_type) is allowed to use the key. Everything else leaves untouched.

Each key also has the header slots its provider reads it from (`x-api-key`, `Authorization:
Bearer`; HTTP Basic only for git with the GitHub token). A placeholder anywhere else is
refused: a server that reflects some other header, or decodes Basic auth and echoes it, would
otherwise hand the real value back in a form the scrubber may not recognise.

Provider keys come from the proxy's own environment or secrets file. The GitHub token is
different: it is the session's own repo-scoped token, stored by the control plane in Redis
(`keys.session_secrets(id)`), so one session can never push with another session's token.
The Codex access token is different again: it comes from the proxy's own ChatGPT sign-in
(codex_oauth.py, refreshed there), and only a Codex session in OAuth mode may use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netclode_protocol.providers import GITHUB_TOKEN
from netclode_protocol.v1 import common_pb2

CLAUDE = common_pb2.SDK_TYPE_CLAUDE
NATIVE = common_pb2.SDK_TYPE_NATIVE
OPENCODE = common_pb2.SDK_TYPE_OPENCODE
COPILOT = common_pb2.SDK_TYPE_COPILOT
CODEX = common_pb2.SDK_TYPE_CODEX
ANY_KIND = frozenset(common_pb2.SdkType.values())
# The original system treats an unspecified kind as Claude; so do we.
CLAUDE_KINDS = frozenset({common_pb2.SDK_TYPE_UNSPECIFIED, CLAUDE})


# Where a placeholder sits: (lower-case header name, auth scheme). The scheme is "" for a
# header that is the bare placeholder, "basic" for the password of HTTP Basic, and
# "embedded" for anything else (never allowed).
Slot = tuple[str, str]
LLM_SLOTS: frozenset[Slot] = frozenset({("x-api-key", ""), ("authorization", "bearer")})
TOKEN_SLOTS: frozenset[Slot] = frozenset({("authorization", "bearer"), ("authorization", "token")})
GIT_SLOTS: frozenset[Slot] = TOKEN_SLOTS | {("authorization", "basic")}


def show_slot(slot: Slot) -> str:
    name, scheme = slot
    return f"{name}: {scheme}" if scheme else name


@dataclass(frozen=True)
class SecretRule:
    key: str
    hosts: frozenset[str]
    kinds: frozenset[int]
    slots: frozenset[Slot]
    # Where the value comes from: PROXY (secrets file / env), SESSION (the session's own,
    # Redis) or CODEX_OAUTH (the proxy's ChatGPT sign-in; OAuth-mode Codex sessions only).
    source: str = "proxy"

    @property
    def per_session(self) -> bool:
        return self.source == SESSION

    def with_hosts(self, extra: Iterable[str]) -> SecretRule:
        hosts = self.hosts | frozenset(extra)
        return SecretRule(self.key, hosts, self.kinds, self.slots, self.source)


PROXY = "proxy"
SESSION = "session"
CODEX_OAUTH = "codex_oauth"
CODEX_ACCESS_TOKEN = "CODEX_ACCESS_TOKEN"
# Where the Codex CLI sends a ChatGPT sign-in's token: the OpenAI API and the ChatGPT
# backend (its default chatgpt_base_url, https://chatgpt.com/backend-api/).
CODEX_OAUTH_HOSTS = ("api.openai.com", "chatgpt.com")


def _rule(
    key: str,
    hosts: Iterable[str],
    kinds: Iterable[int],
    slots: frozenset[Slot] = LLM_SLOTS,
    source: str = PROXY,
) -> SecretRule:
    return SecretRule(key, frozenset(hosts), frozenset(kinds), slots, source)


TABLE: tuple[SecretRule, ...] = (
    _rule("ANTHROPIC_API_KEY", ["api.anthropic.com"], CLAUDE_KINDS | {NATIVE, OPENCODE, COPILOT}),
    _rule("OPENAI_API_KEY", ["api.openai.com"], [NATIVE, OPENCODE, CODEX]),
    _rule("MISTRAL_API_KEY", ["api.mistral.ai"], [NATIVE, OPENCODE]),
    _rule(
        "OPENCODE_API_KEY",
        # opencode.ai: OpenCode Zen's API (https://opencode.ai/zen/v1), its SDK's endpoint.
        ["api.opencode.ai", "opencode.ai", "openrouter.ai", "api.openrouter.ai"],
        [NATIVE, OPENCODE],
    ),
    _rule("ZAI_API_KEY", ["open.bigmodel.cn"], [NATIVE, OPENCODE]),
    _rule(
        "GITHUB_COPILOT_TOKEN",
        [
            "api.github.com",
            "api.githubcopilot.com",
            "api.individual.githubcopilot.com",
            "copilot-proxy.githubusercontent.com",
        ],
        [COPILOT],
        TOKEN_SLOTS,
    ),
    _rule(CODEX_ACCESS_TOKEN, CODEX_OAUTH_HOSTS, [CODEX], source=CODEX_OAUTH),
    _rule(GITHUB_TOKEN, ["github.com", "api.github.com"], ANY_KIND, GIT_SLOTS, source=SESSION),
)

PROXY_KEYS = frozenset(r.key for r in TABLE if r.source == PROXY)


def build_table(extra_hosts: Mapping[str, Iterable[str]]) -> tuple[SecretRule, ...]:
    """The table with operator-configured extra hosts per key (e.g. a self-hosted gateway).

    Unknown key names are a configuration error, reported in one line.
    """
    known = {r.key for r in TABLE}
    unknown = sorted(set(extra_hosts) - known)
    if unknown:
        raise ValueError(f"unknown secret key(s) in extra hosts: {', '.join(unknown)}")
    return tuple(r.with_hosts(extra_hosts.get(r.key, ())) for r in TABLE)
