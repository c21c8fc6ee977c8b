"""Credentials: random generation, hashing for storage, constant-time comparison.

Tokens carry 256 bits of randomness and are stored only as SHA-256 hex digests: a leaked
database reveals no usable credential, and a fast hash is enough for random secrets.
"""

import hashlib
import hmac
import secrets


def new_token(prefix: str) -> str:
    """A fresh token such as `ncu_…`; the prefix tells a reader what kind of secret it is."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
