"""`netclode_kubeconfig` filter: k3s's kubeconfig renamed and pointed at the public address.

k3s writes a kubeconfig whose cluster, user and context are all called `default` and whose
server is https://127.0.0.1:6443. Merged as-is into ~/.kube/config it would clash with other
clusters and point at the wrong machine, so every name becomes `name` and the server is set.
"""

from __future__ import annotations

from typing import Any

import yaml
from ansible.errors import AnsibleFilterError


def netclode_kubeconfig(text: str, server: str, name: str) -> dict[str, Any]:
    """Return the kubeconfig in `text` with one cluster/user/context, all called `name`."""
    config = yaml.safe_load(text)
    try:
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
    except (KeyError, IndexError, TypeError) as exc:
        raise AnsibleFilterError("the k3s kubeconfig has no cluster or user") from exc
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {**cluster, "server": server}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


class FilterModule:
    """Registers the filters of this file with Ansible."""

    def filters(self) -> dict[str, object]:
        return {"netclode_kubeconfig": netclode_kubeconfig}
