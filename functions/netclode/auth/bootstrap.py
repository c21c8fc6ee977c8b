"""API tokens that come from configuration rather than from the API.

In a cluster the admin token lives in a Secret and reaches the api function as
NETCLODE_ADMIN_TOKEN; the GitHub bot's token as NETCLODE_BOT_TOKEN. Their hashes are
registered (as `admin`, and as the `user` token `github-bot`) when the api function starts;
a rotated Secret replaces the old token.
"""

from __future__ import annotations

import redis

from netclode.auth.tokens import ADMIN, USER, TokenStore
from netclode.store.redis import text
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token
from netclode_protocol.settings import read_text

CONFIGURED = (("NETCLODE_ADMIN_TOKEN", "admin", ADMIN), ("NETCLODE_BOT_TOKEN", "github-bot", USER))


def register_configured_tokens(r: redis.Redis) -> None:
    store = TokenStore(r)
    for variable, name, role in CONFIGURED:
        token = read_text(variable)
        if not token:
            continue
        current = store.r.hget(keys.API_TOKEN_NAMES, name)
        if current is not None and text(current) != hash_token(token):
            # The Secret was rotated: the old token stops working, its sessions stay its own.
            store.rotate(name, role, hash_token(token))
        else:
            store.register(name, role, hash_token(token))
