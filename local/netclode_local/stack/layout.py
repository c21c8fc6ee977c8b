"""Where the local stack keeps things (XDG base directories) and where the code lives."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import netclode
from netclode.config import xdg_dir
from netclode_protocol.settings import read_text

FUNCTIONS_DIR = Path(netclode.__file__).resolve().parents[1]
REPO_ROOT = FUNCTIONS_DIR.parent
# The manifests the stack runs and routes from (an operator may point at their own copy).
MANIFESTS = Path(read_text("NETCLODE_MANIFESTS") or REPO_ROOT / "knative" / "base")
FUNCTION_SOURCE = FUNCTIONS_DIR / "main.py"


@dataclass(frozen=True)
class Layout:
    data: Path
    config: Path
    state: Path

    @classmethod
    def from_env(cls) -> Layout:
        return cls(
            data=xdg_dir("DATA", ".local/share"),
            config=xdg_dir("CONFIG", ".config"),
            state=xdg_dir("STATE", ".local/state"),
        )

    def environ(self) -> dict[str, str]:
        """The XDG variables that make another process see this same layout."""
        return {
            "XDG_DATA_HOME": str(self.data.parent),
            "XDG_CONFIG_HOME": str(self.config.parent),
            "XDG_STATE_HOME": str(self.state.parent),
        }

    @property
    def state_file(self) -> Path:
        return self.state / "stack.json"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def credentials(self) -> Path:
        return self.config / "credentials.json"

    def read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write_state(self, state: dict) -> None:
        write_private(self.state_file, json.dumps(state, indent=2))


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read, atomically (no moment with wider permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
