"""Bearer credentials: random generation, reading the header, hashing for storage,
constant-time comparison (shared by the control plane and the secret proxy).

Tokens carry 256 bits of randomness and are stored only as SHA-256 hex digests: a leaked
database reveals no usable credential, and a fast hash is enough for random secrets.
"""

import hashlib
import hmac
import secrets


def new_token(prefix: str) -> str:
    """A fresh token such as `ncu_…`; the prefix tells a reader what kind of secret it is."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def bearer(header: str | None) -> str | None:
    """The token of a `Bearer <token>` header value (the scheme is case-insensitive)."""
    scheme, _, token = (header or "").strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
