"""OpenAI's auth issuer (auth.openai.com) as the Codex CLI's device-code sign-in meets it,
on loopback and as strict as the real one about what it accepts:

- POST /api/accounts/deviceauth/usercode  JSON {client_id}: only the Codex client id;
  answers {device_auth_id, user_code, interval} (interval a string, as the real one sends);
- POST /api/accounts/deviceauth/token  JSON {device_auth_id, user_code}: 403 while the user
  has not approved, 400 for a pair it never issued, 410 once the code expired (`code_ttl_s`);
  once approved, one answer {authorization_code, code_challenge, code_verifier};
- POST /oauth/token, form grant_type=authorization_code: the client id, the code (once,
  unexpired), redirect_uri = {issuer}/deviceauth/callback and the PKCE verifier (S256 of
  the challenge) must all match; answers {id_token, access_token, refresh_token};
- POST /oauth/token, JSON grant_type=refresh_token: the client id and a live refresh token;
  the refresh token rotates (the old one is then refused: `refresh_token_reused`).
Access tokens are JWTs expiring after `access_ttl_s`; id tokens carry the ChatGPT account id
in `https://api.openai.com/auth`. `approve(user_code)` plays the user typing the code at
{issuer}/codex/device. Every token it issued is kept in `issued` so tests can look for them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIM = "https://api.openai.com/auth"


@dataclass
class DeviceAuth:
    user_code: str
    expires_at: float
    approved: bool = False
    collected: bool = False


@dataclass
class AuthCode:
    challenge: str
    expires_at: float
    used: bool = False


@dataclass
class OpenAIAuthStandIn:
    account_id: str = "acct-standin-0001"
    access_ttl_s: float = 3600.0
    code_ttl_s: float = 900.0
    devices: dict[str, DeviceAuth] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    # refresh token -> still usable
    refresh_tokens: dict[str, bool] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.key = secrets.token_bytes(32)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def approve(self, user_code: str) -> None:
        """The user enters the code at {issuer}/codex/device and signs in."""
        with self.lock:
            found = [d for d in self.devices.values() if d.user_code == user_code]
            if not found or found[0].expires_at < time.time():
                raise ValueError(f"no live device code {user_code!r}")
            found[0].approved = True

    # -- the endpoints ----------------------------------------------------------------------

    def usercode(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("client_id") != CLIENT_ID:
            return 400, {"error": "invalid_client"}
        device_id = f"deviceauth_{secrets.token_hex(8)}"
        code = f"{secrets.token_hex(2).upper()}-{secrets.token_hex(3).upper()}"
        with self.lock:
            self.devices[device_id] = DeviceAuth(code, time.time() + self.code_ttl_s)
        return 200, {"device_auth_id": device_id, "user_code": code, "interval": "1"}

    def device_token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            device = self.devices.get(str(body.get("device_auth_id")))
            if device is None or device.user_code != body.get("user_code") or device.collected:
                return 400, {"error": "invalid_request"}
            if device.expires_at < time.time():
                return 410, {"error": "expired_token"}
            if not device.approved:
                return 403, {"error": "authorization_pending"}
            device.collected = True
            verifier = secrets.token_urlsafe(48)
            challenge = _s256(verifier)
            code = secrets.token_urlsafe(24)
            self.codes[code] = AuthCode(challenge, time.time() + 60)
        return 200, {
            "authorization_code": code,
            "code_challenge": challenge,
            "code_verifier": verifier,
        }

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        if form.get("redirect_uri") != f"{self.url}/deviceauth/callback":
            return 400, {"error": "invalid_request", "error_description": "redirect_uri"}
        with self.lock:
            code = self.codes.get(form.get("code", ""))
            if code is None or code.used or code.expires_at < time.time():
                return 400, {"error": "invalid_grant"}
            if _s256(form.get("code_verifier", "")) != code.challenge:
                return 400, {"error": "invalid_grant", "error_description": "code_verifier"}
            code.used = True
            self.grants.append("authorization_code")
            return 200, self._tokens()

    def refresh(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("client_id") != CLIENT_ID:
            return 401, {"error": {"code": "invalid_client"}}
        with self.lock:
            token = str(body.get("refresh_token"))
            if token not in self.refresh_tokens:
                return 401, {"error": {"code": "refresh_token_invalidated"}}
            if not self.refresh_tokens[token]:
                return 401, {"error": {"code": "refresh_token_reused"}}
            self.refresh_tokens[token] = False
            self.grants.append("refresh_token")
            return 200, self._tokens()

    def _tokens(self) -> dict[str, Any]:
        now = int(time.time())
        auth = {AUTH_CLAIM: {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": "plus"}}
        access = jwt.encode(
            {"iat": now, "exp": now + int(self.access_ttl_s), "jti": secrets.token_hex(8), **auth},
            self.key,
            "HS256",
        )
        ident = jwt.encode(
            {"iat": now, "exp": now + 3600, "email": "user@example.test", **auth}, self.key, "HS256"
        )
        refresh = f"rt_{secrets.token_urlsafe(32)}"
        self.refresh_tokens[refresh] = True
        self.issued += [access, ident, refresh]
        return {"id_token": ident, "access_token": access, "refresh_token": refresh}


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _handler(auth: OpenAIAuthStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = self.headers.get("Content-Type", "").split(";")[0].strip()
            try:
                status, answer = self._route(kind, raw)
            except ValueError:
                status, answer = 400, {"error": "invalid_request"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, kind: str, raw: bytes) -> tuple[int, dict[str, Any]]:
            if self.path == "/oauth/token" and kind == "application/x-www-form-urlencoded":
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                if form.get("grant_type") != "authorization_code":
                    return 400, {"error": "unsupported_grant_type"}
                return auth.exchange(form)
            if kind != "application/json":
                return 415, {"error": "unsupported_media_type"}
            body = json.loads(raw or b"{}")
            if self.path == "/oauth/token":
                if body.get("grant_type") != "refresh_token":
                    return 400, {"error": "unsupported_grant_type"}
                return auth.refresh(body)
            if self.path == "/api/accounts/deviceauth/usercode":
                return auth.usercode(body)
            if self.path == "/api/accounts/deviceauth/token":
                return auth.device_token(body)
            return 404, {"error": "not_found"}

    return Handler
