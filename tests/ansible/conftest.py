"""Run the real playbooks against this machine in render mode (netclode_live=false).

Render mode writes every file the roles produce below a scratch root and touches nothing
else: no packages, services, kernel settings or cluster calls. Ansible's own state (HOME,
caches) also goes to scratch directories so the tests leave the machine as they found it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
VENV_BIN = Path(sys.executable).parent
TAILNET = "example-tailnet.ts.net"
RECAP = re.compile(
    r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)


@dataclass(frozen=True)
class Run:
    rc: int
    output: str

    @property
    def changed(self) -> int:
        match = RECAP.search(self.output)
        assert match, self.output[-2000:]
        return int(match.group(2))


@pytest.fixture(scope="session")
def ansible_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("ansible-home")
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "DEPLOY_HOST": "127.0.0.1",
    }


def run_ansible(env: dict[str, str], *args: str, timeout: float = 240) -> Run:
    """Run an ansible command from ansible/ (where ansible.cfg lives)."""
    proc = subprocess.run(
        list(args),
        check=False,
        cwd=ANSIBLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


@dataclass(frozen=True)
class Rendered:
    root: Path
    version: str
    first: Run
    second: Run
    ca_after_first: bytes


@pytest.fixture(scope="session")
def local_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inventory") / "hosts.yaml"
    path.write_text(
        "k3s_cluster:\n  children:\n    server:\n      hosts:\n"
        "        localhost: {ansible_connection: local}\n    agent:\n      hosts: {}\n"
    )
    return path


def render_vars(tmp: Path, root: Path, version: str, **extra: object) -> Path:
    path = tmp / "vars.json"
    path.write_text(
        json.dumps(
            {
                "netclode_live": False,
                "netclode_root": str(root),
                "netclode_version": version,
                "ansible_python_interpreter": sys.executable,
                **extra,
            }
        )
    )
    return path


@pytest.fixture(scope="session")
def rendered(
    tmp_path_factory: pytest.TempPathFactory, ansible_env: dict[str, str], local_inventory: Path
) -> Rendered:
    """site.yaml run twice in render mode (GPU and Tailscale on, so every role renders)."""
    tmp = tmp_path_factory.mktemp("render")
    root = tmp / "root"
    version = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    extra = render_vars(
        tmp,
        root,
        version,
        nvidia_enabled=True,
        ollama_enabled=True,
        tailscale_enabled=True,
        # What the tailscale role reads from a joined host (skipped in render mode).
        tailscale_tailnet_domain=TAILNET,
    )
    command = [
        "ansible-playbook",
        "-i",
        str(local_inventory),
        "-e",
        f"@{extra}",
        "playbooks/site.yaml",
    ]
    first = run_ansible(ansible_env, *command)
    assert first.rc == 0, first.output[-3000:]
    ca = (root / "var/lib/netclode/secret-proxy/ca.crt").read_bytes()
    second = run_ansible(ansible_env, *command)
    assert second.rc == 0, second.output[-3000:]
    return Rendered(root, version, first, second, ca)
