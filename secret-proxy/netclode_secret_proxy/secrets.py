"""The proxy's real provider secrets: its own environment plus an optional dotenv file.

Only the keys in the table are read, so unrelated variables in a shared `.env` never become
"secrets" that responses get scrubbed for. Values are never logged or echoed in errors.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from netclode_secret_proxy.table import PROXY_KEYS

# Shorter values would make response scrubbing rewrite innocent bytes; no real key is this short.
MIN_SECRET_LEN = 8


class SecretsFileError(ValueError):
    """A secrets file that cannot be read or parsed; the message names file and line only."""


def parse_dotenv(text: str, source: str) -> dict[str, str]:
    """KEY=VALUE lines, optional `export `, `#` comments, shell-style quoting of values."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        name, sep, rest = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise SecretsFileError(f"{source}:{number}: expected KEY=VALUE")
        try:
            parts = shlex.split(rest, comments=True)
        except ValueError:
            raise SecretsFileError(f"{source}:{number}: unbalanced quotes") from None
        values[name] = " ".join(parts)
    return values


def load_secrets(secrets_file: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Known keys from `environ`, overridden by the file (the operator's explicit choice)."""
    merged = {k: v for k, v in environ.items() if k in PROXY_KEYS}
    if secrets_file:
        path = Path(secrets_file)
        try:
            text = path.read_text()
        except OSError as e:
            raise SecretsFileError(f"cannot read secrets file {path}: {e.strerror}") from None
        merged.update({k: v for k, v in parse_dotenv(text, str(path)).items() if k in PROXY_KEYS})
    short = sorted(k for k, v in merged.items() if v and len(v) < MIN_SECRET_LEN)
    if short:
        raise SecretsFileError(f"secret(s) shorter than {MIN_SECRET_LEN} characters: {short}")
    return {k: v for k, v in merged.items() if v}
