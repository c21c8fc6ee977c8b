"""The `kubernetes` driver's calls on the Kubernetes API (official client, synchronous), in
one namespace, with the API's errors as ours: a 409 on create (a retried start) and a 404 on
delete (stop is idempotent) are success, a 404 on read is NotFound, anything else Unavailable.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client, config

from netclode.drivers.kube_manifests import (
    APP,
    LABEL_APP,
    LABEL_SANDBOX,
    SNAPSHOT_GROUP,
    SNAPSHOT_PLURAL,
    SNAPSHOT_VERSION,
    pod_name,
)
from netclode_protocol.errors import NotFound, Unavailable
from netclode_protocol.settings import read_text


def load_api_client() -> client.ApiClient:
    """In a pod: its service account. Elsewhere: the kubeconfig context `netclode`."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config(context=read_text("NETCLODE_K8S_CONTEXT"))
    return client.ApiClient()


class KubeAPI:
    """The core, networking and snapshot APIs of the sandboxes' namespace."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.core = client.CoreV1Api(api_client)
        self.net = client.NetworkingV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def sandbox_pods(self) -> list[client.V1Pod]:
        # Filtered here too: the selector is an optimisation, the labels are the truth.
        pods = self.core.list_namespaced_pod(
            self.namespace, label_selector=f"{LABEL_APP}={APP}"
        ).items
        return [p for p in pods if labels(p).get(LABEL_APP) == APP and LABEL_SANDBOX in labels(p)]

    def previews(self, list_objects: Any, sandbox_id: str) -> list[str]:
        """Names of the sandbox's preview objects (Services or NetworkPolicies)."""
        items = list_objects(self.namespace, label_selector=f"{LABEL_SANDBOX}={sandbox_id}").items
        prefix = f"{pod_name(sandbox_id)}-p"
        return [
            o.metadata.name
            for o in items
            if (o.metadata.labels or {}).get(LABEL_SANDBOX) == sandbox_id
            and o.metadata.name.startswith(prefix)
        ]

    def create_snapshot(self, namespace: str, body: dict[str, Any]) -> Any:
        return self.custom.create_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, namespace, SNAPSHOT_PLURAL, body
        )

    def read_snapshot(self, name: str, namespace: str) -> Any:
        return self.custom.get_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, namespace, SNAPSHOT_PLURAL, name
        )

    def delete_snapshot(self, name: str, namespace: str) -> Any:
        return self.custom.delete_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, namespace, SNAPSHOT_PLURAL, name
        )

    def read(self, read: Any, name: str) -> Any:
        try:
            return read(name, self.namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                raise NotFound(f"no sandbox object {name}") from None
            raise Unavailable(f"Kubernetes API: {exc.status} {exc.reason}") from None

    def create(self, create: Any, body: dict[str, Any]) -> None:
        try:
            create(self.namespace, body)
        except client.ApiException as exc:
            if exc.status != 409:  # AlreadyExists: a retried start
                raise Unavailable(f"Kubernetes API: {exc.status} {exc.reason}") from None

    def delete(self, delete: Any, name: str) -> None:
        try:
            delete(name, self.namespace)
        except client.ApiException as exc:
            if exc.status != 404:  # already gone: stop is idempotent
                raise Unavailable(f"Kubernetes API: {exc.status} {exc.reason}") from None


def labels(pod: client.V1Pod) -> dict[str, str]:
    """A pod's labels (the API always sends metadata; the client types it optional)."""
    return (pod.metadata.labels if pod.metadata else None) or {}
