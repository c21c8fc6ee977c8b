"""The `kubernetes` sandbox driver: one Kata pod per sandbox, one PVC per workspace.

What the objects look like is `kube_manifests`; the API calls and their errors are
`kube_api`. This module is the driver's life cycle: what is created and deleted when, and
when a pod or a snapshot counts as ready.
"""

from __future__ import annotations

import base64
from http.client import HTTPConnection
from typing import Any

from kubernetes import client
from kubernetes.utils import parse_quantity

from netclode.config import Settings
from netclode.drivers.base import SandboxInfo, SandboxSpec
from netclode.drivers.kube_api import KubeAPI, labels, load_api_client
from netclode.drivers.kube_manifests import (
    LABEL_SANDBOX,
    LABEL_WORKSPACE,
    SNAPSHOT_GROUP,
    KubernetesSettings,
    SandboxManifests,
    pod_name,
    preview_service_name,
    pvc_name,
    tailnet_policy_name,
)
from netclode.drivers.rpc import SandboxRPC
from netclode_protocol.errors import FailedPrecondition, Unavailable
from netclode_protocol.waiting import wait_until

ALIVE_PHASES = {"Pending", "Running"}
SNAPSHOT_POLL_S = 1.0


class KubernetesDriver:
    """SandboxDriver on the Kubernetes API (official client, synchronous)."""

    name = "kubernetes"
    # A pod's volumes are fixed when it is created: a resume starts a new pod on the PVC.
    attaches_workspaces = False

    def __init__(
        self,
        settings: Settings,
        api_client: client.ApiClient | None = None,
        kube: KubernetesSettings | None = None,
    ) -> None:
        self._kube = kube or KubernetesSettings.from_env()
        self.manifests = SandboxManifests(settings, self._kube)
        self._api = KubeAPI(api_client or load_api_client(), self._kube.namespace)

    # -- SandboxDriver ---------------------------------------------------------------

    def start(self, spec: SandboxSpec) -> None:
        """Creates the workspace PVC (if new), the sandbox Secret, the pod, and the tailnet
        policy when asked. Names are deterministic, so a retried start is a no-op."""
        # Every body is built (and every name checked) before the first object is created.
        pod, pvc, secret = (
            self.manifests.pod(spec),
            self.manifests.pvc(spec),
            self.manifests.secret(spec.sandbox_id),
        )
        policy = self.manifests.tailnet_policy(spec) if spec.tailnet_access else None
        self._api.create(self._api.core.create_namespaced_persistent_volume_claim, pvc)
        self._api.create(self._api.core.create_namespaced_secret, secret)
        if policy:
            self._api.create(self._api.net.create_namespaced_network_policy, policy)
        self._api.create(self._api.core.create_namespaced_pod, pod)

    def attach_workspace(self, sandbox_id: str, workspace_id: str) -> None:
        raise FailedPrecondition("a running pod cannot take another workspace volume")

    def stop(self, sandbox_id: str) -> None:
        """Deletes the pod and what only it used; the workspace PVC stays (pause)."""
        self._api.delete(self._api.core.delete_namespaced_pod, pod_name(sandbox_id))
        self._api.delete(self._api.core.delete_namespaced_secret, pod_name(sandbox_id))
        policy = tailnet_policy_name(sandbox_id)
        self._api.delete(self._api.net.delete_namespaced_network_policy, policy)
        for name in self._api.previews(self._api.core.list_namespaced_service, sandbox_id):
            self._api.delete(self._api.core.delete_namespaced_service, name)
        for name in self._api.previews(self._api.net.list_namespaced_network_policy, sandbox_id):
            self._api.delete(self._api.net.delete_namespaced_network_policy, name)

    def list(self) -> list[SandboxInfo]:
        return [
            SandboxInfo(
                sandbox_id=labels(pod)[LABEL_SANDBOX],
                workspace_id=labels(pod).get(LABEL_WORKSPACE, ""),
                alive=_alive(pod),
            )
            for pod in self._api.sandbox_pods()
        ]

    def rpc(self, sandbox_id: str) -> SandboxRPC:
        """A client for the sandbox's runtime at the pod IP, presenting its secret."""
        pod = self._api.read(self._api.core.read_namespaced_pod, pod_name(sandbox_id))
        if not _alive(pod) or not (pod.status and pod.status.pod_ip):
            raise Unavailable(f"sandbox {sandbox_id} has no running pod")
        secret = self._api.read(self._api.core.read_namespaced_secret, pod_name(sandbox_id))
        token = base64.b64decode(secret.data["secret"]).decode()
        connection = HTTPConnection(pod.status.pod_ip, self._kube.runtime_port)
        return SandboxRPC(connection, token)

    def delete_workspace(self, workspace_id: str) -> None:
        """Removes the PVC and every sandbox still bound to it."""
        for pod in self._api.sandbox_pods():
            if labels(pod).get(LABEL_WORKSPACE) == workspace_id:
                self.stop(labels(pod)[LABEL_SANDBOX])
        self._api.delete(
            self._api.core.delete_namespaced_persistent_volume_claim, pvc_name(workspace_id)
        )

    def snapshot_workspace(self, workspace_id: str, snapshot_id: str) -> int:
        """Creates a VolumeSnapshot of the workspace PVC and waits until it is cut
        (readyToUse), so the snapshot holds the files as they are now."""
        body = self.manifests.volume_snapshot(workspace_id, snapshot_id)
        self._api.create(self._api.create_snapshot, body)

        def cut() -> dict[str, Any] | None:
            status = self._api.read(self._api.read_snapshot, snapshot_id).get("status") or {}
            if status.get("error", {}).get("message"):
                raise Unavailable(f"snapshot {snapshot_id} failed: {status['error']['message']}")
            return status if status.get("readyToUse") else None

        status = wait_until(
            cut,
            timeout=self._kube.snapshot_ready_timeout,
            every=SNAPSHOT_POLL_S,
            what=f"snapshot {snapshot_id} not ready",
            error=Unavailable,
        )
        return int(parse_quantity(status.get("restoreSize") or "0"))

    def clone_workspace(self, snapshot_id: str, workspace_id: str) -> None:
        """A new PVC provisioned from the VolumeSnapshot (the CSI driver copies the data)."""
        self._api.read(self._api.read_snapshot, snapshot_id)  # NotFound before creating anything
        pvc = self.manifests.pvc(SandboxSpec(sandbox_id="", workspace_id=workspace_id))
        pvc["spec"]["dataSource"] = {
            "apiGroup": SNAPSHOT_GROUP,
            "kind": "VolumeSnapshot",
            "name": snapshot_id,
        }
        self._api.create(self._api.core.create_namespaced_persistent_volume_claim, pvc)

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._api.delete(self._api.delete_snapshot, snapshot_id)

    def expose_port(self, sandbox_id: str, port: int, previous_url: str = "") -> str:
        """A Service for the port, selecting this sandbox's pod, and the policy letting its
        clients in; the Service's cluster (or tailnet) name is the preview URL."""
        self._api.read(self._api.core.read_namespaced_pod, pod_name(sandbox_id))
        body, policy = (
            self.manifests.preview_service(sandbox_id, port),
            self.manifests.preview_policy(sandbox_id, port),
        )
        self._api.create(self._api.net.create_namespaced_network_policy, policy)
        self._api.create(self._api.core.create_namespaced_service, body)
        name = body["metadata"]["name"]
        if self._kube.preview_tailnet:
            return f"http://{name}:{port}/"
        return f"http://{name}.{self._kube.namespace}.svc.cluster.local:{port}/"

    def unexpose_port(self, sandbox_id: str, port: int) -> None:
        name = preview_service_name(sandbox_id, port)
        self._api.delete(self._api.core.delete_namespaced_service, name)
        self._api.delete(self._api.net.delete_namespaced_network_policy, name)


def _alive(pod: client.V1Pod) -> bool:
    if pod.metadata and pod.metadata.deletion_timestamp:
        return False
    phase = pod.status.phase if pod.status else None
    return phase is None or phase in ALIVE_PHASES
