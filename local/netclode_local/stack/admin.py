"""The local stack's own API tokens: the admin token (created on first start, saved for the
CLI) and the GitHub bot's token (fresh on every start, handed only to the bot process).
Neither is ever logged."""

from __future__ import annotations

from pathlib import Path

import redis

from netclode.auth.tokens import ADMIN, TOKEN_PREFIX, USER, TokenStore
from netclode_local.stack import credentials
from netclode_protocol.bearer import hash_token, new_token

ADMIN_NAME = "admin"
BOT_NAME = "github-bot"


def ensure_admin_token(r: redis.Redis, credentials_file: Path) -> None:
    """Makes sure the saved local token is a valid admin token; creates one if not."""
    store = TokenStore(r)
    saved = credentials.load(credentials_file).get(credentials.LOCAL)
    if saved:
        principal = store.verify(saved)
        if principal is not None and principal.is_admin:
            return
    if ADMIN_NAME in {p.name for p in store.list()}:
        store.revoke(ADMIN_NAME)  # its secret is lost; a new one replaces it
    _, secret = store.create(ADMIN_NAME, ADMIN)
    credentials.save(credentials_file, credentials.LOCAL, secret)


def fresh_bot_token(r: redis.Redis) -> str:
    """A new `user` token for the bot; the previous start's token stops working, and the
    bot keeps its sessions (a rotation, same principal)."""
    secret = new_token(TOKEN_PREFIX)
    TokenStore(r).rotate(BOT_NAME, USER, hash_token(secret))
    return secret
