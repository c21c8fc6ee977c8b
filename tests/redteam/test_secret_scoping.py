"""Red team (issue 17, finding 8): each local component gets only the secrets it uses.

The operator's environment holds the webhook secret, a GitHub token, the App's private key
and a provider key when `netclode up` runs; the environment of every running process of
every component (its process group: gunicorn's master and worker, the sandbox host and its
sandboxes) is read from /proc and searched for each value.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.redteam.conftest import OPERATOR_SECRETS, SECRET
from tests.support.stack import Stack

SECRETS = {"NETCLODE_GITHUB_WEBHOOK_SECRET": SECRET, **OPERATOR_SECRETS}
# Who uses what: the webhook checks signatures; the api grants sessions the personal token;
# the App key mints tokens (the bot's, and the sessions' at create and resume in the api and
# before expiry in the pool); only the secret proxy holds provider keys. Nobody else anything.
ALLOWED = {
    "NETCLODE_GITHUB_WEBHOOK_SECRET": {"webhook"},
    "GITHUB_TOKEN": {"api"},
    "NETCLODE_GITHUB_APP_PRIVATE_KEY": {"api", "pool", "bot"},
    "MISTRAL_API_KEY": {"secret-proxy"},
}


def _group_environ(pgid: int) -> bytes:
    """The environments of every live process in process group `pgid`."""
    out = b""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) == pgid:
                out += (proc / "environ").read_bytes()
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
    return out


def test_each_component_holds_only_the_secrets_it_uses(stack: Stack) -> None:
    components = stack.layout.read_state()["components"]
    hits = {}
    for name, info in components.items():
        if "pid" not in info:
            continue
        environ = _group_environ(info["pid"])
        assert environ, f"no process of {name} found"
        hits[name] = {key for key, value in SECRETS.items() if value.encode() in environ}
    print(f"secrets searched: {len(SECRETS)} in {len(hits)} components; hits: {hits}")
    for name, found in hits.items():
        assert found == {k for k, owners in ALLOWED.items() if name in owners}, name
