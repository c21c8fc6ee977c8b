"""The local stack's admin token: created on first start, saved for the CLI, never logged."""

from __future__ import annotations

from pathlib import Path

import redis

from netclode.auth.tokens import ADMIN, TokenStore
from netclode.localstack import credentials

ADMIN_NAME = "admin"


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
