"""site.yaml's GPU, Secure Boot (MOK) and Tailscale logic in check mode on a fake GPU host.

The host is this machine under a scratch root, its programs (lspci, mokutil, modprobe,
tailscale, k3s, kubectl, systemctl) stand-ins that answer as a host in the given state does
(fake_host.py). Check mode changes nothing; package and download steps (tag `packages`) and
the KVM preflight are left out, as they need a package mirror and the real host. What is
judged: which tasks run, in which order, why the others are skipped, and where the run stops.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ansible import fake_host
from tests.ansible.conftest import run_ansible

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TAILNET = "example-tailnet.ts.net"
PLUGINS = Path(__file__).parent / "plugins"
# Where the roles read or write on the host; check mode cannot create directories.
HOST_DIRS = [
    "etc/modprobe.d",
    "etc/profile.d",
    "etc/rancher/k3s",
    "var/lib/rancher/k3s/agent/etc/containerd",
    "opt/netclode/manifests",
]
# Role order the guide asks for: driver, k3s, toolkit and device support, then Ollama (the
# Tailscale operator's OAuth Secret goes through the secrets role's apply tasks).
GPU_ORDER = [
    "tailscale",
    "nvidia",
    "k3s",
    "nvidia_toolkit",
    "tailscale_operator",
    "secrets",
    "gpu_operator",
    "ollama",
]


@dataclass
class Plan:
    rc: int
    output: str
    events: list[dict[str, Any]]
    calls: list[list[str]]

    def tasks(self, role: str | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.events if e["event"] == "task" and (role is None or e["role"] == role)
        ]

    def ran(self) -> list[dict[str, Any]]:
        """Tasks that ran or would run (check mode standing in for a command)."""
        return [t for t in self.tasks() if t["status"] != "skipped" or t["planned"]]

    def status(self, role: str, task: str) -> str:
        """ok, changed, failed, skipped (false condition), planned (check mode stood in for
        a command), or censored (skipped under no_log: either of the last two)."""
        found = [t for t in self.tasks(role) if t["task"] == task]
        assert found, f"{role} : {task} never came up\n{self.output[-3000:]}"
        last = found[-1]
        if last["planned"] is None and last["status"] == "skipped":
            return "censored"
        return "planned" if last["planned"] else last["status"]

    def roles_in_order(self) -> list[str]:
        """Roles in the order their tasks came up (run, planned or skipped)."""
        order: list[str] = []
        for task in self.tasks():
            if task["role"] and task["role"] not in order:
                order.append(task["role"])
        return order


@dataclass
class Host:
    gpu: bool = True
    driver_built: bool = True
    secure_boot: bool = True
    mok: str = "none"
    tailnet: dict[str, str] | None = field(
        default_factory=lambda: {"domain": TAILNET, "hostname": "netclode-host"}
    )
    k3s: str | None = None
    units: dict[str, bool] = field(default_factory=lambda: {"tailscaled": True})
    ollama_models: list[str] = field(default_factory=list)


def plan(
    tmp_path: Path,
    env: dict[str, str],
    host: Host,
    *,
    dotenv: str = "TS_OAUTH_CLIENT_ID=client-id\nTS_OAUTH_CLIENT_SECRET=client-secret\n",
    extra_env: dict[str, str] | None = None,
) -> Plan:
    root = tmp_path / "root"
    for directory in HOST_DIRS:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/modules").write_text("kvm_intel 413696 0 - Live 0x0000000000000000\n")
    fake_host.install(tmp_path / "bin")
    (tmp_path / "state.json").write_text(json.dumps(host.__dict__))
    (tmp_path / ".env").write_text(dotenv)
    for log in ("calls.jsonl", "trace.jsonl"):
        (tmp_path / log).write_text("")
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(
        "k3s_cluster:\n  children:\n    server:\n      hosts:\n"
        "        gpu-server: {ansible_connection: local}\n    agent:\n      hosts: {}\n"
    )
    variables = tmp_path / "vars.json"
    variables.write_text(
        json.dumps(
            {
                "netclode_root": str(root),
                "netclode_version": "0123456789ab",
                "ansible_python_interpreter": sys.executable,
                "ansible_become": False,
                "nvidia_enabled": True,
                "ollama_enabled": True,
                "tailscale_enabled": True,
                "kubectl_bin": str(tmp_path / "bin/kubectl"),
            }
        )
    )
    run_env = {
        **env,
        "PATH": f"{tmp_path / 'bin'}:{env['PATH']}",
        "DEPLOY_HOST": "203.0.113.10",
        "ENV_FILE": str(tmp_path / ".env"),
        "FAKE_HOST_STATE": str(tmp_path / "state.json"),
        "FAKE_HOST_CALLS": str(tmp_path / "calls.jsonl"),
        "NETCLODE_TRACE": str(tmp_path / "trace.jsonl"),
        "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS),
        "ANSIBLE_CALLBACKS_ENABLED": "netclode_trace",
        "MOK_PASSWORD": "enroll-me",
        "OLLAMA_MODELS": "qwen2.5-coder:14b,llama3.2",
        **(extra_env or {}),
    }
    result = run_ansible(
        run_env,
        "ansible-playbook",
        "-i",
        str(inventory),
        "-e",
        f"@{variables}",
        "--check",
        "--tags",
        "gpu,k3s,tailscale",
        "--skip-tags",
        "packages,preflight",
        "playbooks/site.yaml",
        timeout=600,
    )
    read = lambda name: [  # noqa: E731
        json.loads(line) for line in (tmp_path / name).read_text().splitlines() if line
    ]
    return Plan(result.rc, result.output, read("trace.jsonl"), read("calls.jsonl"))


def test_secure_boot_first_run_queues_the_key_prints_the_steps_and_stops(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    result = plan(tmp_path, ansible_env, Host(secure_boot=True, mok="none"))
    assert result.rc == 0, result.output[-3000:]
    # The block that queues the key runs (its command is no_log: censored in check mode).
    assert result.status("nvidia", "Require the one-time enrollment password") == "ok"
    assert result.status("nvidia", "Queue the signing key with MOK_PASSWORD") == "censored"
    (box,) = [
        t
        for t in result.tasks("nvidia")
        if t["task"] == "Tell the operator what to do at the console"
    ]
    steps = "\n".join(box["msg"])
    assert "Enroll MOK" in steps and "MOK_PASSWORD" in steps and "again" in steps
    # Then end_host: nothing of k3s or of the cluster play runs.
    assert result.ran()[-1]["task"] == "Leave this host out of the cluster play until the reboot"
    assert result.roles_in_order() == ["tailscale", "nvidia"]
    assert {"event": "no_hosts"} in result.events
    assert not [t for t in result.tasks() if t["status"] == "failed"]
    # Check mode: the key is not really queued.
    assert ["mokutil", "--import", fake_host.MOK_KEY] not in result.calls


def test_rerun_before_the_reboot_does_not_queue_the_key_twice(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    result = plan(tmp_path, ansible_env, Host(secure_boot=True, mok="queued"))
    assert result.rc == 0, result.output[-3000:]
    assert result.status("nvidia", "Require the one-time enrollment password") == "skipped"
    assert result.ran()[-1]["task"] == "Leave this host out of the cluster play until the reboot"


def test_secure_boot_without_mok_password_fails_with_the_fix(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    result = plan(tmp_path, ansible_env, Host(), extra_env={"MOK_PASSWORD": ""})
    assert result.rc != 0
    (failed,) = [t for t in result.tasks() if t["status"] == "failed"]
    assert failed["task"] == "Require the one-time enrollment password"
    assert "Set MOK_PASSWORD" in str(failed["msg"])


@pytest.mark.parametrize(
    "host",
    [Host(secure_boot=True, mok="enrolled"), Host(secure_boot=False)],
    ids=["second-run-after-enrollment", "secure-boot-off"],
)
def test_loaded_driver_runs_the_gpu_path_in_order(
    tmp_path: Path, ansible_env: dict[str, str], host: Host
) -> None:
    host.ollama_models = ["llama3.2:latest"]
    result = plan(tmp_path, ansible_env, host)
    assert result.rc == 0, result.output[-3000:]
    assert result.roles_in_order() == GPU_ORDER
    assert not [t for t in result.tasks("nvidia") if t["task"].startswith("Queue the signing key")]
    assert result.status("nvidia", "Enroll the module signing key (Secure Boot)") == "skipped"
    # Toolkit only after k3s is installed; the GPU Operator waits for a labelled GPU node
    # before Ollama; Ollama pre-pulls only the model it lacks.
    names = [f"{t['role']} : {t['task']}" for t in result.tasks()]
    assert names.index("k3s : Install or upgrade k3s v1.34.2+k3s1") < names.index(
        "nvidia_toolkit : Check that k3s registered the nvidia runtime"
    )
    assert names.index(
        "gpu_operator : Wait for a node labelled nvidia.com/gpu.present with an allocatable GPU"
    ) < names.index("ollama : Wait until Ollama is ready")
    pulls = {
        e["item"]: e["planned"]
        for e in result.events
        if e["event"] == "item" and e["role"] == "ollama"
    }
    assert pulls == {"qwen2.5-coder:14b": True, "llama3.2": False}
    # kubectl only read: a server-side diff and Ollama's model list.
    assert all(call[0] != "kubectl" or "diff" in call or "list" in call for call in result.calls)


def test_driver_failing_with_secure_boot_off_fails_with_the_reason(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    result = plan(tmp_path, ansible_env, Host(secure_boot=False, driver_built=False))
    assert result.rc != 0
    (failed,) = [t for t in result.tasks() if t["status"] == "failed"]
    assert failed["task"] == "Fail when the driver does not load for another reason"
    assert "Module nvidia not found" in str(failed["msg"])


def test_host_without_gpu_skips_the_gpu_stack_on_it(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    result = plan(tmp_path, ansible_env, Host(gpu=False))
    assert result.rc == 0, result.output[-3000:]
    assert not [t for t in result.ran() if t["role"] == "nvidia_toolkit"]
    assert not any(call[0] in {"modprobe", "mokutil"} for call in result.calls)


def test_tailscale_joins_as_netclode_host_and_needs_the_oauth_client(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    # DEPLOY_HOST is an IP: the device is still netclode-host, never a number.
    result = plan(
        tmp_path,
        ansible_env,
        Host(secure_boot=False, tailnet=None),
        dotenv="TAILSCALE_AUTHKEY=tskey-auth-test\n",
    )
    # The auth key is there (no manual step); `tailscale up` is no_log, so censored.
    assert result.status("tailscale", "Explain how to join by hand") == "skipped"
    assert result.status("tailscale", "Bring Tailscale up as netclode-host") == "censored"
    assert ["tailscale", "up"] not in [c[:2] for c in result.calls]
    (failed,) = [t for t in result.tasks() if t["status"] == "failed"]
    assert (failed["role"], failed["task"]) == ("tailscale_operator", "Require the OAuth client")
    assert "TS_OAUTH_CLIENT_ID" in str(failed["msg"])


def test_tailscale_renames_a_joined_host_and_installs_the_operator(
    tmp_path: Path, ansible_env: dict[str, str]
) -> None:
    host = Host(secure_boot=False, tailnet={"domain": TAILNET, "hostname": "old-name"})
    result = plan(tmp_path, ansible_env, host)
    assert result.rc == 0, result.output[-3000:]
    assert result.status("tailscale", "Keep the device name netclode-host") == "planned"
    assert (
        result.status("tailscale_operator", "Apply the namespace and the chart 1.90.9") == "planned"
    )
    # The Secret differs from the cluster's (kubectl diff), so it would be applied.
    assert result.status("secrets", "Compare with the cluster operator-oauth") == "ok"
    assert result.status("secrets", "Apply operator-oauth") == "censored"
