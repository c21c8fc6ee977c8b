"""The injection decision for one request: which placeholders get their real value.

Pure: given the placeholders found (and the header slots they sit in), the real destination,
the scheme and the session, it says per key `injected`, `withheld` (left untouched, with the
reason) or `refused` (the request would carry a placeholder the proxy should fill but cannot,
or in a header its provider never reads: blocked, so no API sees a bogus credential and no
server can reflect the real one from an unexpected place).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netclode_protocol import audit
from netclode_protocol.v1 import common_pb2
from netclode_secret_proxy.auth import Session
from netclode_secret_proxy.table import CODEX_OAUTH, SESSION, SecretRule, Slot, show_slot


@dataclass(frozen=True)
class Decision:
    key: str
    decision: str
    reason: str
    value: str = ""

    def __repr__(self) -> str:  # never show the value, even in a traceback
        return f"Decision({self.key!r}, {self.decision!r}, {self.reason!r})"


def _kind(sdk_type: int) -> str:
    """The SdkType's name; the number comes from the session record (any int)."""
    value = common_pb2.SdkType.DESCRIPTOR.values_by_number.get(sdk_type)
    return value.name if value else "?"


def decide(
    rule: SecretRule,
    slots: set[Slot],
    *,
    host: str,
    https: bool,
    session: Session,
    proxy_secrets: Mapping[str, str],
) -> Decision:
    if not https:
        return Decision(rule.key, audit.WITHHELD, "plain HTTP")
    if host not in rule.hosts:
        return Decision(rule.key, audit.WITHHELD, "host not on the key's allow-list")
    if session.sdk_type not in rule.kinds:
        reason = f"session kind {_kind(session.sdk_type)} may not use this key"
        return Decision(rule.key, audit.WITHHELD, reason)
    if rule.source == CODEX_OAUTH and not session.codex_oauth:
        reason = "only a Codex session in OAuth mode may use the ChatGPT sign-in"
        return Decision(rule.key, audit.WITHHELD, reason)
    stray = sorted(slots - rule.slots)
    if stray:
        allowed = " or ".join(sorted(show_slot(s) for s in rule.slots))
        reason = f"{rule.key} may only be sent in {allowed}, not in {show_slot(stray[0])}"
        return Decision(rule.key, audit.REFUSED, reason)
    value = (session.secrets if rule.per_session else proxy_secrets).get(rule.key, "")
    if not value:
        owner = {SESSION: "this session", CODEX_OAUTH: "Codex (netclode auth codex start)"}
        reason = f"{rule.key} is not configured for {owner.get(rule.source, 'the secret proxy')}"
        return Decision(rule.key, audit.REFUSED, reason)
    return Decision(rule.key, audit.INJECTED, "allowed", value)


def plan(
    table: Iterable[SecretRule],
    found: Mapping[str, set[Slot]],
    *,
    host: str,
    https: bool,
    session: Session,
    proxy_secrets: Mapping[str, str],
) -> list[Decision]:
    """One decision per known key whose placeholder is in the request (unknown ones stay)."""
    return [
        decide(
            rule,
            found[rule.key],
            host=host,
            https=https,
            session=session,
            proxy_secrets=proxy_secrets,
        )
        for rule in table
        if rule.key in found
    ]
