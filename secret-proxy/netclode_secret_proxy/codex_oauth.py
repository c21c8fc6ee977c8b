"""Codex's ChatGPT sign-in, held by the secret proxy: the device-code flow, the tokens, and
their refresh. No token ever leaves this process except towards the issuer (sign-in and
refresh) and, injected by the addon, towards the Codex hosts for OAuth-mode Codex sessions.

The flow is the Codex CLI's own (codex-rs login crate, device_code_auth.rs and server.rs):
  1. POST {issuer}/api/accounts/deviceauth/usercode  {"client_id"}
       -> {"device_auth_id", "user_code", "interval"}; the user opens {issuer}/codex/device
          and types the code;
  2. POST {issuer}/api/accounts/deviceauth/token  {"device_auth_id", "user_code"} every
       `interval` s: 403/404 while the user has not approved, then
       -> {"authorization_code", "code_challenge", "code_verifier"};
  3. POST {issuer}/oauth/token (form) grant_type=authorization_code, code, redirect_uri=
       {issuer}/deviceauth/callback, client_id, code_verifier -> {id_token, access_token,
       refresh_token};
  4. refresh: POST {issuer}/oauth/token (JSON) {client_id, grant_type: refresh_token,
       refresh_token} -> new tokens; the refresh token rotates.
The account id is the id token's `https://api.openai.com/auth`.chatgpt_account_id claim;
the access token's `exp` says when it expires. Both JWTs come from the issuer over TLS and
are only read, never trusted for anything but these two values.

State: the tokens are kept in one owner-only JSON file (`state_file`), so a restarted proxy
stays signed in. A non-secret summary (account id, expiry) is published in Redis
(keys.CODEX_ACCOUNT) for the control plane, which needs to know whether Codex OAuth models
are usable and which account id a session's CLI must send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from netclode_protocol import keys

log = logging.getLogger("netclode.secret-proxy")

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIM = "https://api.openai.com/auth"
# The CLI gives up on a device code after 15 minutes; so do we.
DEVICE_CODE_TTL_S = 15 * 60
# Refresh when 3/4 of the token's life is spent, and at the latest this long before expiry.
REFRESH_MARGIN_S = 300.0
RETRY_S = 30.0
HTTP_TIMEOUT_S = 15.0

SIGNED_OUT, PENDING, SIGNED_IN, FAILED = "signed_out", "pending", "signed_in", "failed"


class SignInError(Exception):
    """A one-line reason the issuer refused (no token in it)."""


@dataclass
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    account_id: str
    issued_at: float
    expires_at: float

    def __repr__(self) -> str:  # never show a token, even in a traceback
        return f"Tokens(account_id={self.account_id!r}, expires_at={self.expires_at})"

    def refresh_at(self) -> float:
        life = max(self.expires_at - self.issued_at, 0.0)
        return self.expires_at - min(REFRESH_MARGIN_S, life / 4)


@dataclass
class Pending:
    device_auth_id: str
    user_code: str
    verification_url: str
    interval: float
    deadline: float


def _claims(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise SignInError("the issuer sent a token that is not a JWT") from None


def tokens_from(answer: dict[str, Any], previous: Tokens | None = None) -> Tokens:
    """Tokens from a token-endpoint answer (a refresh may leave some out: keep the old)."""
    id_token = answer.get("id_token") or (previous.id_token if previous else "")
    access = answer.get("access_token") or ""
    refresh = answer.get("refresh_token") or (previous.refresh_token if previous else "")
    if not (id_token and access and refresh):
        raise SignInError("the issuer's answer lacks a token")
    account = str(_claims(id_token).get(AUTH_CLAIM, {}).get("chatgpt_account_id", ""))
    claims = _claims(access)
    now = time.time()
    expires = float(claims.get("exp") or now + float(answer.get("expires_in") or 3600))
    return Tokens(id_token, access, refresh, account, float(claims.get("iat") or now), expires)


class CodexSignIn:
    """One ChatGPT sign-in for the whole installation (the proxy is its only holder)."""

    def __init__(self, issuer: str, state_file: Path | None, redis: aioredis.Redis | None) -> None:
        self.issuer = issuer.rstrip("/")  # config.OPTIONS: netclode_codex_issuer
        self.state_file = state_file
        self.redis = redis
        self.tokens: Tokens | None = None
        self.pending: Pending | None = None
        self.error = ""
        # "poll" (a device code waiting for approval) and "refresh" (the signed-in tokens').
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # --- what the proxy and the control endpoint read ----------------------------------

    def access_token(self) -> str:
        """The access token while it is valid, else ""."""
        if self.tokens is None or self.tokens.expires_at <= time.time():
            return ""
        return self.tokens.access_token

    def status(self) -> dict[str, Any]:
        """Non-secret: state, account id, expiry, and the code to type while pending (a new
        sign-in in progress is PENDING even while an earlier one still serves)."""
        out: dict[str, Any] = {"state": SIGNED_OUT, "error": self.error}
        if self.error:
            out["state"] = FAILED
        if self.tokens is not None:
            out |= {"account_id": self.tokens.account_id, "expires_at": self.tokens.expires_at}
            out["state"] = SIGNED_IN
        if self.pending is not None:
            out |= {
                "state": PENDING,
                "user_code": self.pending.user_code,
                "verification_url": self.pending.verification_url,
            }
        return out

    # --- lifecycle -----------------------------------------------------------------------

    async def load(self) -> None:
        """Resumes a sign-in saved by an earlier run (and its refresh schedule)."""
        if self.state_file is None or not self.state_file.exists():
            await self._publish()
            return
        try:
            self.tokens = Tokens(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            log.warning("secret-proxy: unreadable Codex sign-in state; signed out")
            self.tokens = None
        await self._publish()
        if self.tokens is not None:
            self._run("refresh", self._refresh_loop())

    async def start(self) -> dict[str, Any]:
        """Asks the issuer for a device code; polls for the user's approval in the
        background. A sign-in already in place stays until the new one succeeds."""
        answer = await self._post_json(
            "/api/accounts/deviceauth/usercode", {"client_id": CLIENT_ID}, "device code"
        )
        try:
            interval = float(str(answer.get("interval") or "5").strip())
            self.pending = Pending(
                str(answer["device_auth_id"]),
                str(answer.get("user_code") or answer["usercode"]),
                f"{self.issuer}/codex/device",
                max(interval, 0.2),
                time.monotonic() + DEVICE_CODE_TTL_S,
            )
        except (KeyError, ValueError):
            raise SignInError("the issuer's device-code answer is malformed") from None
        self.error = ""
        self._run("poll", self._poll(self.pending))
        return self.status()

    async def logout(self) -> dict[str, Any]:
        self.close()
        self.pending, self.error = None, ""
        await self._forget()
        return self.status()

    def close(self) -> None:
        for name in list(self._tasks):
            self._cancel(name)

    # --- the flow ------------------------------------------------------------------------

    async def _poll(self, pending: Pending) -> None:
        body = {"device_auth_id": pending.device_auth_id, "user_code": pending.user_code}
        try:
            async with self._client() as client:
                while True:
                    resp = await client.post(
                        f"{self.issuer}/api/accounts/deviceauth/token", json=body
                    )
                    if resp.status_code in (403, 404):
                        if time.monotonic() >= pending.deadline:
                            raise SignInError("the device code expired (15 minutes)")
                        await asyncio.sleep(pending.interval)
                        continue
                    if resp.status_code != 200:
                        raise SignInError(f"device sign-in refused ({resp.status_code})")
                    code = resp.json()
                    break
            tokens = tokens_from(await self._exchange(code))
        except (SignInError, httpx.HTTPError, ValueError, KeyError) as e:
            self.pending = None
            self.error = _reason(e)
            log.warning("secret-proxy: Codex sign-in failed: %s", self.error)
            return
        self.pending = None
        await self._keep(tokens)
        log.info("secret-proxy: Codex signed in (account %s)", tokens.account_id)
        self._run("refresh", self._refresh_loop())

    async def _exchange(self, code: dict[str, Any]) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code["authorization_code"],
            "redirect_uri": f"{self.issuer}/deviceauth/callback",
            "client_id": CLIENT_ID,
            "code_verifier": code["code_verifier"],
        }
        async with self._client() as client:
            resp = await client.post(f"{self.issuer}/oauth/token", data=form)
        if resp.status_code != 200:
            raise SignInError(f"token exchange refused ({resp.status_code})")
        return resp.json()

    async def _refresh_loop(self) -> None:
        while self.tokens is not None:
            await asyncio.sleep(max(self.tokens.refresh_at() - time.time(), 0.0))
            try:
                await self.refresh()
            except SignInError as e:  # the issuer said no: this sign-in is over
                self.error = str(e)
                await self._forget()
                log.warning("secret-proxy: Codex sign-in ended: %s", self.error)
                return
            except (httpx.HTTPError, ValueError) as e:  # unreachable: try again soon
                log.warning("secret-proxy: Codex token refresh failed: %s", type(e).__name__)
                await asyncio.sleep(RETRY_S)

    async def refresh(self) -> None:
        assert self.tokens is not None
        body = {
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": self.tokens.refresh_token,
        }
        answer = await self._post_json("/oauth/token", body, "refresh")
        await self._keep(tokens_from(answer, self.tokens))

    # --- plumbing ------------------------------------------------------------------------

    async def _post_json(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        async with self._client() as client:
            resp = await client.post(f"{self.issuer}{path}", json=body)
        if resp.status_code == 404 and what == "device code":
            raise SignInError("device-code sign-in is not enabled at this issuer")
        if resp.status_code != 200:
            raise SignInError(f"{what} refused ({resp.status_code}{_error_code(resp)})")
        return resp.json()

    async def _keep(self, tokens: Tokens) -> None:
        self.tokens, self.error = tokens, ""
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.state_file.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(asdict(tokens), f)
            tmp.replace(self.state_file)
        await self._publish()

    async def _forget(self) -> None:
        """Drops the tokens: from memory, from the state dir and from the summary."""
        self.tokens = None
        if self.state_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.state_file.unlink()
        await self._publish()

    async def _publish(self) -> None:
        """The non-secret summary the control plane reads (keys.CODEX_ACCOUNT)."""
        if self.redis is None:
            return
        try:
            if self.tokens is None:
                await self.redis.delete(keys.CODEX_ACCOUNT)
                return
            summary: dict[FieldT, EncodableT] = {
                "account_id": self.tokens.account_id,
                "expires_at": self.tokens.expires_at,
            }
            await self.redis.hset(keys.CODEX_ACCOUNT, mapping=summary)
        except RedisError as e:  # the next change publishes again; sessions see it late
            log.warning("secret-proxy: Codex sign-in summary not published: %s", type(e).__name__)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False)

    def _run(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        self._cancel(name)
        self._tasks[name] = asyncio.get_running_loop().create_task(work)

    def _cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()


def _error_code(resp: httpx.Response) -> str:
    """`: <code>` from an OAuth error answer (`error` a string or {code}), else ""."""
    try:
        error = resp.json().get("error")
    except ValueError:
        return ""
    code = error.get("code") if isinstance(error, dict) else error
    return f": {code}" if isinstance(code, str) and code.isprintable() else ""


def _reason(e: Exception) -> str:
    return str(e) if isinstance(e, SignInError) else f"issuer unreachable ({type(e).__name__})"
