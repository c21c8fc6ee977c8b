"""The control plane's side of provider sign-ins whose credentials only the secret proxy
holds: Codex's ChatGPT sign-in (OAuth mode) and Copilot status.

The proxy runs the sign-in, keeps and refreshes the tokens, and publishes a non-secret
summary in Redis (keys.CODEX_ACCOUNT: account id, expiry); this module reads that summary
(is Codex OAuth usable? which account id does a session's CLI send?) and relays the
admin's start/status/sign-out and Copilot status calls to the proxy's control endpoint
(netclode_secret_proxy.control), which only the api function can reach.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from netclode.store.redis import text
from netclode_protocol import keys
from netclode_protocol.errors import FailedPrecondition, Unavailable
from netclode_protocol.providers import codex_oauth_session
from netclode_protocol.settings import read_text

ACCOUNT_ID_ENV = "NETCLODE_CODEX_ACCOUNT_ID"
CONTROL_URL_ENV = "NETCLODE_PROXY_CONTROL_URL"
CONTROL_TOKEN_ENV = "NETCLODE_PROXY_CONTROL_TOKEN"
CONTROL_TIMEOUT_S = 20.0


def signed_in_account(r: redis.Redis) -> str:
    """The signed-in ChatGPT account id, "" when Codex OAuth cannot be used now."""
    account, expires = r.hmget(keys.CODEX_ACCOUNT, "account_id", "expires_at")
    if not account or float(expires or 0) <= time.time():
        return ""
    return text(account)


def codex_signed_in(r: redis.Redis | None = None) -> bool:
    """Whether Codex OAuth models are usable (the catalogue marks them unavailable else)."""
    if r is None:
        from netclode.config import Settings
        from netclode.store.redis import connect

        r = connect(Settings.from_env().redis_url)
    return bool(signed_in_account(r))


def session_env(r: redis.Redis, sdk_type: int, model: str) -> dict[str, str]:
    """SessionConfig.env for a Codex OAuth session: the account id its CLI sends (not a
    secret; the token itself stays with the proxy)."""
    if not codex_oauth_session(sdk_type, model):
        return {}
    account = signed_in_account(r)
    return {ACCOUNT_ID_ENV: account} if account else {}


def require_signed_in(r: redis.Redis, sdk_type: int, model: str) -> None:
    """FailedPrecondition for an OAuth-mode Codex turn while nobody is signed in."""
    if codex_oauth_session(sdk_type, model) and not signed_in_account(r):
        raise FailedPrecondition(
            "Codex is not signed in, so OAuth models cannot run: an admin runs "
            "`netclode auth codex start` (or use an :api model)"
        )


@dataclass(frozen=True)
class ProxyControl:
    """Calls to the secret proxy's control endpoint."""

    url: str
    token: str

    @classmethod
    def from_env(cls) -> ProxyControl:
        url, token = read_text(CONTROL_URL_ENV), read_text(CONTROL_TOKEN_ENV)
        if not url or not token:
            raise FailedPrecondition(
                f"the secret proxy's control endpoint is not configured ({CONTROL_URL_ENV})"
            )
        return cls(url.rstrip("/"), token)

    def call(self, method: str, path: str) -> dict[str, Any]:
        import httpx  # here: the secret proxy imports this module, and never calls

        try:
            resp = httpx.request(
                method,
                f"{self.url}{path}",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=CONTROL_TIMEOUT_S,
                trust_env=False,
            )
        except httpx.HTTPError as e:
            raise Unavailable(f"secret proxy unreachable ({type(e).__name__})") from None
        body = (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if resp.status_code == 502:
            raise FailedPrecondition(f"sign-in failed: {body.get('error', 'issuer error')}")
        if resp.status_code != 200:
            raise Unavailable(f"secret proxy control endpoint answered {resp.status_code}")
        return body
