"""Admin tokens that come from configuration rather than from the API.

In a cluster the admin token lives in a Secret and reaches the api function as
NETCLODE_ADMIN_TOKEN; its hash is registered under the name `admin` on start.
"""

from __future__ import annotations

import os

import redis

from netclode.auth.secrets import hash_token
from netclode.auth.tokens import ADMIN, TokenStore
from netclode.store import keys

ADMIN_NAME = "admin"


def register_configured_admin(r: redis.Redis) -> None:
    token = os.environ.get("NETCLODE_ADMIN_TOKEN", "").strip()
    if not token:
        return
    store = TokenStore(r)
    current = store.r.hget(keys.API_TOKEN_NAMES, ADMIN_NAME)
    if current is not None and current.decode() != hash_token(token):
        store.revoke(ADMIN_NAME)  # the Secret was rotated: the old token stops working
    store.register(ADMIN_NAME, ADMIN, hash_token(token))
