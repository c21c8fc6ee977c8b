"""The CLI's saved API tokens, one per API URL, in a file only the user can read.

The local stack's admin token is saved under the key `local`, so the CLI finds it without
knowing which port the stack chose.
"""

from __future__ import annotations

import json
from pathlib import Path

from netclode_local.stack.layout import write_private

LOCAL = "local"


def load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save(path: Path, key: str, token: str) -> None:
    tokens = load(path)
    tokens[key] = token
    write_private(path, json.dumps(tokens, indent=2))


def forget(path: Path, key: str) -> bool:
    tokens = load(path)
    if tokens.pop(key, None) is None:
        return False
    write_private(path, json.dumps(tokens, indent=2))
    return True
