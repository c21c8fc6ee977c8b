"""API tokens: named, role-carrying bearer tokens stored only as hashes.

`admin` tokens see everything and manage tokens; `user` tokens see only the sessions they
own. A session's owner is the immutable id of the token that created it (derived from its
hash), never its name: a new token given a revoked token's name owns nothing of the old one.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

import redis

from netclode.auth.secrets import hash_token, new_token
from netclode.errors import FailedPrecondition, InvalidArgument, NotFound
from netclode.store import keys

ADMIN = "admin"
USER = "user"
ROLES = (ADMIN, USER)
TOKEN_PREFIX = "ncp"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def principal_id(token_hash: str) -> str:
    """The immutable identity of the token with this hash (not reversible to the hash)."""
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

    def register(self, name: str, role: str, token_hash: str) -> Principal:
        """Stores a token known only by its hash (e.g. one provisioned from a cluster Secret)."""
        principal = Principal(principal_id(token_hash), name, role, int(time.time() * 1000))
        if not self.r.hsetnx(keys.API_TOKEN_NAMES, name, token_hash):
            if self.r.hget(keys.API_TOKEN_NAMES, name) == token_hash.encode():
                return self.verify_hash(token_hash) or principal
            raise FailedPrecondition(f"a token named {name!r} already exists")
        self.r.hset(
            keys.api_token(token_hash),
            mapping={"name": name, "role": role, "created_at": principal.created_at},
        )
        return principal

    def verify(self, secret: str) -> Principal | None:
        return self.verify_hash(hash_token(secret))

    def verify_hash(self, token_hash: str) -> Principal | None:
        raw = self.r.hgetall(keys.api_token(token_hash))
        if not raw:
            return None
        return Principal(
            id=principal_id(token_hash),
            name=raw[b"name"].decode(),
            role=raw[b"role"].decode(),
            created_at=int(raw.get(b"created_at", b"0")),
        )

    def list(self) -> list[Principal]:
        hashes = self.r.hvals(keys.API_TOKEN_NAMES)
        found = (self.verify_hash(h.decode()) for h in hashes)
        return sorted((p for p in found if p), key=lambda p: p.name)

    def revoke(self, name: str) -> None:
        token_hash = self.r.hget(keys.API_TOKEN_NAMES, name)
        if token_hash is None:
            raise NotFound(f"no token named {name!r}")
        pipe = self.r.pipeline()
        pipe.delete(keys.api_token(token_hash.decode()))
        pipe.hdel(keys.API_TOKEN_NAMES, name)
        pipe.execute()
