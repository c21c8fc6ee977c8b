"""API tokens: named, role-carrying bearer tokens stored only as hashes.

`admin` tokens see everything and manage tokens; `user` tokens see only the sessions they
own. A session's owner is the immutable principal id of the token that created it, never its
name: a new token given a revoked token's name owns nothing of the old one. Only a rotation
(`rotate`: a configured Secret replaced, the local bot's fresh token) keeps the id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

import redis

from netclode.store.redis import Pipeline, hash_reply, text, texts
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.errors import FailedPrecondition, InvalidArgument, NotFound

ADMIN = "admin"
USER = "user"
ROLES = (ADMIN, USER)
TOKEN_PREFIX = "ncp"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def new_principal_id() -> str:
    return f"p-{secrets.token_hex(10)}"


def legacy_principal_id(token_hash: str) -> str:
    """The id of a token stored before ids were: derived from its hash, so still its own."""
    return "p-" + hashlib.sha256(f"principal:{token_hash}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's immutable id, its name and role."""

    id: str
    name: str
    role: str
    created_at: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class TokenStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def create(self, name: str, role: str) -> tuple[Principal, str]:
        """Creates a token; returns it with its secret, which is never stored or shown again."""
        if not NAME_RE.fullmatch(name):
            raise InvalidArgument(
                "name", "use 1-63 lowercase letters, digits, '.', '_' or '-', starting alnum"
            )
        if role not in ROLES:
            raise InvalidArgument("role", f"must be one of {', '.join(ROLES)}")
        secret = new_token(TOKEN_PREFIX)
        return self.register(name, role, hash_token(secret)), secret

    def register(self, name: str, role: str, token_hash: str, principal_id: str = "") -> Principal:
        """Stores a token known only by its hash (e.g. one provisioned from a cluster Secret),
        as a new principal unless `principal_id` (a rotation) says whose it is."""
        principal = Principal(
            principal_id or new_principal_id(), name, role, int(time.time() * 1000)
        )
        if not self.r.hsetnx(keys.API_TOKEN_NAMES, name, token_hash):
            if self.r.hget(keys.API_TOKEN_NAMES, name) == token_hash.encode():
                return self.verify_hash(token_hash) or principal
            raise FailedPrecondition(f"a token named {name!r} already exists")
        self.r.hset(
            keys.api_token(token_hash),
            mapping={
                "id": principal.id,
                "name": name,
                "role": role,
                "created_at": principal.created_at,
            },
        )
        return principal

    def verify(self, secret: str) -> Principal | None:
        return self.verify_hash(hash_token(secret))

    def verify_hash(self, token_hash: str) -> Principal | None:
        return principal_in(token_hash, self.r.hgetall(keys.api_token(token_hash)))

    @staticmethod
    def queue_verify(pipe: Pipeline, token_hash: str) -> None:
        """Queues verify_hash's read on `pipe` (its reply read by `principal_in`)."""
        pipe.hgetall(keys.api_token(token_hash))

    def list(self) -> list[Principal]:
        hashes = texts(self.r.hvals(keys.API_TOKEN_NAMES))
        found = (self.verify_hash(h) for h in hashes)
        return sorted((p for p in found if p), key=lambda p: p.name)

    def rotate(self, name: str, role: str, token_hash: str) -> Principal:
        """Replaces the token named `name` (if any) by the one with `token_hash`, keeping its
        principal id: the same owner with a new secret."""
        old_hash = self.r.hget(keys.API_TOKEN_NAMES, name)
        old = self.verify_hash(text(old_hash)) if old_hash else None
        if old_hash is not None:
            self.revoke(name)
        return self.register(name, role, token_hash, old.id if old else "")

    def revoke(self, name: str) -> None:
        token_hash = self.r.hget(keys.API_TOKEN_NAMES, name)
        if token_hash is None:
            raise NotFound(f"no token named {name!r}")
        pipe = self.r.pipeline()
        pipe.delete(keys.api_token(text(token_hash)))
        pipe.hdel(keys.API_TOKEN_NAMES, name)
        pipe.execute()


def principal_in(token_hash: str, reply: object) -> Principal | None:
    """The principal in a token's record (as verify_hash reads it), None for no record."""
    raw = hash_reply(reply)
    if not raw:
        return None
    stored_id = raw.get(b"id")
    return Principal(
        id=stored_id.decode() if stored_id else legacy_principal_id(token_hash),
        name=raw[b"name"].decode(),
        role=raw[b"role"].decode(),
        created_at=int(raw.get(b"created_at", b"0")),
    )
