"""fetch-kubeconfig.yaml writes a kubeconfig that points where this machine can reach the
API server: the host's tailnet name with Tailscale, the SSH tunnel's local end without."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.ansible.conftest import run_ansible

# k3s's own kubeconfig, as /etc/rancher/k3s/k3s.yaml holds it.
K3S_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {
            "name": "default",
            "cluster": {
                "certificate-authority-data": "Q0E=",
                "server": "https://127.0.0.1:6443",
            },
        }
    ],
    "users": [
        {
            "name": "default",
            "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"},
        }
    ],
    "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
    "current-context": "default",
}


@pytest.mark.parametrize(
    ("tailscale", "server"),
    [("true", "https://netclode-host:6443"), ("false", "https://127.0.0.1:16443")],
    ids=["tailscale", "ssh-tunnel"],
)
def test_kubeconfig_points_at_the_reachable_api_server(
    tmp_path: Path,
    ansible_env: dict[str, str],
    local_inventory: Path,
    tailscale: str,
    server: str,
) -> None:
    source = tmp_path / "k3s.yaml"
    source.write_text(yaml.safe_dump(K3S_KUBECONFIG))
    home = tmp_path / "home"
    home.mkdir()
    env = {**ansible_env, "HOME": str(home), "TAILSCALE_ENABLED": tailscale}
    result = run_ansible(
        env,
        "ansible-playbook",
        "-i",
        str(local_inventory),
        "-e",
        f"kubeconfig_path={source} ansible_become=false",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "playbooks/fetch-kubeconfig.yaml",
    )
    assert result.rc == 0, result.output[-3000:]
    written = yaml.safe_load((home / ".kube/netclode.yaml").read_text())
    assert written["clusters"] == [
        {
            "name": "netclode",
            "cluster": {"certificate-authority-data": "Q0E=", "server": server},
        }
    ]
    merged = yaml.safe_load((home / ".kube/config").read_text())
    assert "netclode" in [c["name"] for c in merged["contexts"]]
    assert (home / ".kube/netclode.yaml").stat().st_mode & 0o777 == 0o600
