"""Which secret may go where: key -> placeholder, destination hosts, session kinds.

A sandbox only ever holds `NETCLODE_PLACEHOLDER_<KEY>`; the proxy swaps it for the real value
when, and only when, the request's real destination is one of the key's hosts and the
session's kind (sdk_type) is allowed to use the key. Everything else leaves untouched.

Provider keys come from the proxy's own environment or secrets file. The GitHub token is
different: it is the session's own repo-scoped token, stored by the control plane in Redis
(`keys.session_secrets(id)`), so one session can never push with another session's token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netclode.providers import GITHUB_TOKEN
from netclode.v1 import common_pb2

CLAUDE = common_pb2.SDK_TYPE_CLAUDE
NATIVE = common_pb2.SDK_TYPE_NATIVE
ANY_KIND = frozenset({common_pb2.SDK_TYPE_UNSPECIFIED, CLAUDE, NATIVE})
# The original system treats an unspecified kind as Claude; so do we.
CLAUDE_KINDS = frozenset({common_pb2.SDK_TYPE_UNSPECIFIED, CLAUDE})


@dataclass(frozen=True)
class SecretRule:
    key: str
    hosts: frozenset[str]
    kinds: frozenset[int]
    # True: the value is the session's own (Redis); False: the proxy's secrets file / env.
    per_session: bool = False

    def with_hosts(self, extra: Iterable[str]) -> SecretRule:
        return SecretRule(self.key, self.hosts | frozenset(extra), self.kinds, self.per_session)


def _rule(key: str, hosts: Iterable[str], kinds: Iterable[int], per_session: bool = False):
    return SecretRule(key, frozenset(hosts), frozenset(kinds), per_session)


TABLE: tuple[SecretRule, ...] = (
    _rule("ANTHROPIC_API_KEY", ["api.anthropic.com"], CLAUDE_KINDS | {NATIVE}),
    _rule("OPENAI_API_KEY", ["api.openai.com"], [NATIVE]),
    _rule("MISTRAL_API_KEY", ["api.mistral.ai"], [NATIVE]),
    _rule("OPENCODE_API_KEY", ["api.opencode.ai", "openrouter.ai", "api.openrouter.ai"], [NATIVE]),
    _rule("ZAI_API_KEY", ["open.bigmodel.cn"], [NATIVE]),
    _rule(
        "GITHUB_COPILOT_TOKEN",
        ["api.github.com", "copilot-proxy.githubusercontent.com"],
        [NATIVE],
    ),
    _rule("CODEX_ACCESS_TOKEN", ["api.openai.com"], [NATIVE]),
    _rule(GITHUB_TOKEN, ["github.com", "api.github.com"], ANY_KIND, per_session=True),
)

PROXY_KEYS = frozenset(r.key for r in TABLE if not r.per_session)


def build_table(extra_hosts: Mapping[str, Iterable[str]]) -> tuple[SecretRule, ...]:
    """The table with operator-configured extra hosts per key (e.g. a self-hosted gateway).

    Unknown key names are a configuration error, reported in one line.
    """
    known = {r.key for r in TABLE}
    unknown = sorted(set(extra_hosts) - known)
    if unknown:
        raise ValueError(f"unknown secret key(s) in extra hosts: {', '.join(unknown)}")
    return tuple(r.with_hosts(extra_hosts.get(r.key, ())) for r in TABLE)
