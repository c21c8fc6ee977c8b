"""What a Kubernetes sandbox is made of: the objects the `kubernetes` driver creates, as
plain manifests (public: the manifest tests validate them), and their names.

A sandbox pod looks to the runtime exactly like a local bubblewrap sandbox: the runtime
listens on `in/sandbox.sock` and talks out through `out/control.sock` (ingest) and
`out/proxy.sock` (secret proxy). A `bridge` container turns those sockets into the pod's
only network paths (TCP 3002 in; ingest and secret proxy out), and the auth-proxy
container gives tools the usual HTTPS_PROXY on 127.0.0.1:8080. The pod holds no provider
key: the only credential inside is its own inbound RPC secret, kept in a per-sandbox Secret.

Objects (all labelled with the sandbox and workspace ids, so cleanup never needs state):
  Pod            sbx-<sandbox>          deleted on stop (pause)
  Secret         sbx-<sandbox>          inbound RPC secret; deleted on stop
  NetworkPolicy  sbx-<sandbox>-tailnet  only for sessions with tailnet access
  PVC            ws-<workspace>         kept on stop; deleted by delete_workspace
  VolumeSnapshot <snapshot id>          a workspace snapshot; clone_workspace restores it
                                        into a new PVC (dataSource)
  Service        sbx-<sandbox>-p<port>  a preview port; deleted on unexpose and on stop
  NetworkPolicy  sbx-<sandbox>-p<port>  lets the preview's clients in on that port (the
                                        sandbox-ingress policy admits only the runtime port)
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode_protocol.bearer import new_token
from netclode_protocol.errors import InvalidArgument
from netclode_protocol.settings import read_flag, read_text

RUNTIME_PORT = 3002  # the default; KubernetesSettings.runtime_port
RUN_DIR = "/run/netclode"
SECRET_DIR = "/etc/netclode/sandbox-secret"
CA_DIR = "/etc/netclode/ca"
# The system CAs plus the secret proxy's CA, built by the `prepare` init container.
CA_BUNDLE = f"{RUN_DIR}/ca-bundle.crt"
CA_BUNDLE_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO")
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"
LABEL_APP = "app.kubernetes.io/name"
LABEL_SANDBOX = "netclode.io/sandbox"
LABEL_WORKSPACE = "netclode.io/workspace"
APP = "netclode-sandbox"
# The per-pod VM size; Kata honours them only when its configuration lists them in
# enable_annotations (the Ansible kata role writes exactly ANNOTATIONS there).
ANNOTATIONS = ("default_vcpus", "default_memory")
KATA_VCPUS, KATA_MEMORY = (f"io.katacontainers.config.hypervisor.{a}" for a in ANNOTATIONS)
TAILNET = "100.64.0.0/10"
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$")
SNAPSHOT_GROUP, SNAPSHOT_VERSION, SNAPSHOT_PLURAL = (
    "snapshot.storage.k8s.io",
    "v1",
    "volumesnapshots",
)
TAILSCALE_EXPOSE = "tailscale.com/expose"
TAILSCALE_HOSTNAME = "tailscale.com/hostname"
TAILSCALE_NAMESPACE = "tailscale"  # where the Tailscale operator runs its proxies


@dataclass(frozen=True)
class KubernetesSettings:
    """What only this driver needs; read from the same environment as Settings."""

    namespace: str = "netclode"
    image: str = "netclode-sandbox:latest"
    runtime_class: str = "kata"
    storage_class: str = ""  # empty: the cluster default
    workspace_size: str = "10Gi"
    secret_proxy_addr: str = "secret-proxy.netclode.svc.cluster.local:8080"
    # Where the bridge exposes the runtime on the pod IP (the sandbox-ingress policy's port).
    runtime_port: int = RUNTIME_PORT
    # Requests are the VM size divided by these, so idle sandboxes do not hoard a node.
    cpu_overcommit: int = 4
    memory_overcommit: int = 4
    # knative/cluster/volumesnapshotclass.yaml; how long a snapshot may take to be cut.
    snapshot_class: str = "netclode-workspaces"
    snapshot_ready_timeout: float = 60.0
    # Preview Services carry the Tailscale operator's annotations (reachable on the tailnet).
    preview_tailnet: bool = False

    @classmethod
    def from_env(cls) -> KubernetesSettings:
        return cls(
            namespace=read_text("NETCLODE_K8S_NAMESPACE"),
            image=read_text("NETCLODE_SANDBOX_IMAGE"),
            runtime_class=read_text("NETCLODE_RUNTIME_CLASS"),
            storage_class=read_text("NETCLODE_STORAGE_CLASS"),
            workspace_size=read_text("NETCLODE_WORKSPACE_SIZE"),
            secret_proxy_addr=read_text("NETCLODE_SECRET_PROXY_ADDR") or cls.secret_proxy_addr,
            snapshot_class=read_text("NETCLODE_SNAPSHOT_CLASS"),
            preview_tailnet=read_flag("NETCLODE_PREVIEW_TAILNET"),
        )


def _checked(kind: str, value: str) -> str:
    if not NAME.fullmatch(value):
        raise InvalidArgument(kind, "must be lowercase letters, digits and '-' (max 52)")
    return value


def pod_name(sandbox_id: str) -> str:
    return f"sbx-{_checked('sandbox_id', sandbox_id)}"


def pvc_name(workspace_id: str) -> str:
    return f"ws-{_checked('workspace_id', workspace_id)}"


def tailnet_policy_name(sandbox_id: str) -> str:
    return f"{pod_name(sandbox_id)}-tailnet"


def preview_service_name(sandbox_id: str, port: int) -> str:
    return f"{pod_name(sandbox_id)}-p{port}"


class SandboxManifests:
    """The manifests of one cluster's sandboxes (namespace, image, sizes from the settings)."""

    def __init__(self, settings: Settings, kube: KubernetesSettings) -> None:
        self._settings = settings
        self._kube = kube

    def volume_snapshot(self, workspace_id: str, snapshot_id: str) -> dict[str, Any]:
        labels = {LABEL_APP: APP, LABEL_WORKSPACE: workspace_id}
        spec = {
            "volumeSnapshotClassName": self._kube.snapshot_class,
            "source": {"persistentVolumeClaimName": pvc_name(workspace_id)},
        }
        name = _checked("snapshot_id", snapshot_id)
        return self._object(
            f"{SNAPSHOT_GROUP}/{SNAPSHOT_VERSION}", "VolumeSnapshot", name, labels, spec
        )

    def preview_service(self, sandbox_id: str, port: int) -> dict[str, Any]:
        name = preview_service_name(sandbox_id, port)
        labels = {LABEL_APP: APP, LABEL_SANDBOX: sandbox_id}
        spec = {
            "selector": {LABEL_APP: APP, LABEL_SANDBOX: sandbox_id},
            "ports": [{"name": "preview", "port": port, "targetPort": port, "protocol": "TCP"}],
        }
        doc = self._object("v1", "Service", name, labels, spec)
        if self._kube.preview_tailnet:
            doc["metadata"]["annotations"] = {TAILSCALE_EXPOSE: "true", TAILSCALE_HOSTNAME: name}
        return doc

    def preview_policy(self, sandbox_id: str, port: int) -> dict[str, Any]:
        """Ingress on the preview port: from the Tailscale operator's proxies when previews
        are on the tailnet, else from this namespace's pods (sandboxes are not among them
        in effect: their egress policy lets them reach no other pod)."""
        if self._kube.preview_tailnet:
            namespace = {"kubernetes.io/metadata.name": TAILSCALE_NAMESPACE}
            peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": namespace}}
        else:
            peer = {"podSelector": {}}
        body = {
            "podSelector": {"matchLabels": {LABEL_SANDBOX: sandbox_id}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": port}]}],
        }
        labels = {LABEL_APP: APP, LABEL_SANDBOX: sandbox_id}
        name = preview_service_name(sandbox_id, port)
        return self._object("networking.k8s.io/v1", "NetworkPolicy", name, labels, body)

    def pod(self, spec: SandboxSpec) -> dict[str, Any]:
        # Unless the session asks, Kata gives the VM its configured default (the same
        # NETCLODE_DEFAULT_* values as settings); a size asked for goes to Kata as annotations.
        vcpus = spec.vcpus or self._settings.default_vcpus
        memory_mb = spec.memory_mb or self._settings.default_memory_mb
        custom = bool(spec.vcpus or spec.memory_mb)
        annotations = {KATA_VCPUS: str(vcpus), KATA_MEMORY: str(memory_mb)} if custom else {}
        requests = {
            "cpu": f"{max(250, vcpus * 1000 // self._kube.cpu_overcommit)}m",
            "memory": f"{max(512, memory_mb // self._kube.memory_overcommit)}Mi",
        }
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name(spec.sandbox_id),
                "namespace": self._kube.namespace,
                "labels": self._labels(spec),
                "annotations": annotations,
            },
            "spec": {
                "runtimeClassName": self._kube.runtime_class,
                "serviceAccountName": "netclode-sandbox",
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                # A dead runtime is a dead sandbox: the pool replaces it, sessions resume.
                "restartPolicy": "Never",
                "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000},
                "initContainers": [self._prepare_container()],
                "containers": [
                    self._runtime_container(requests),
                    self._auth_proxy_container(),
                    self._bridge_container(),
                ],
                "volumes": self._volumes(spec),
            },
        }

    def pvc(self, spec: SandboxSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": self._kube.workspace_size}},
        }
        if self._kube.storage_class:
            body["storageClassName"] = self._kube.storage_class
        labels = {LABEL_APP: APP, LABEL_WORKSPACE: spec.workspace_id}
        return self._object(
            "v1", "PersistentVolumeClaim", pvc_name(spec.workspace_id), labels, body
        )

    def secret(self, sandbox_id: str) -> dict[str, Any]:
        doc = self._object(
            "v1", "Secret", pod_name(sandbox_id), {LABEL_APP: APP, LABEL_SANDBOX: sandbox_id}
        )
        del doc["spec"]
        doc["type"] = "Opaque"
        token = new_token("sbx")
        doc["data"] = {"secret": base64.b64encode(token.encode()).decode()}
        return doc

    def tailnet_policy(self, spec: SandboxSpec) -> dict[str, Any]:
        """Adds egress to the tailnet for this one sandbox (NetworkPolicies add up)."""
        body = {
            "podSelector": {"matchLabels": {LABEL_SANDBOX: spec.sandbox_id}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": TAILNET}}]}],
        }
        name = tailnet_policy_name(spec.sandbox_id)
        return self._object("networking.k8s.io/v1", "NetworkPolicy", name, self._labels(spec), body)

    # -- pieces -----------------------------------------------------------------------

    def _runtime_container(self, requests: dict[str, str]) -> dict[str, Any]:
        # The runtime reads its inbound secret from a file descriptor, as under bubblewrap.
        start = f"exec 3<{SECRET_DIR}/secret && exec python -m netclode_sandbox"
        proxy = "http://127.0.0.1:8080"
        env = {
            "NETCLODE_LISTEN_SOCKET": f"{RUN_DIR}/in/sandbox.sock",
            "NETCLODE_CONTROL_SOCKET": f"{RUN_DIR}/out/control.sock",
            "NETCLODE_INGEST_PATH": urlsplit(self._settings.ingest_url).path.rstrip("/"),
            "NETCLODE_SECRET_FD": "3",
            "NETCLODE_WORKSPACE": "/workspace",
            "HOME": "/workspace",
            "HTTP_PROXY": proxy,
            "HTTPS_PROXY": proxy,
            "NO_PROXY": "localhost,127.0.0.1",
            "NODE_EXTRA_CA_CERTS": f"{CA_DIR}/ca.crt",
        }
        env |= {name: CA_BUNDLE for name in CA_BUNDLE_ENV}
        return {
            "name": "runtime",
            "image": self._kube.image,
            "command": ["sh", "-c", start],
            "env": [{"name": k, "value": v} for k, v in env.items()],
            "resources": {"requests": requests},
            # Ready once the runtime listens: until then preview Services route nowhere and
            # `kubectl get pods` says why a sandbox is not serving.
            "readinessProbe": {
                "exec": {"command": ["test", "-S", f"{RUN_DIR}/in/sandbox.sock"]},
                "periodSeconds": 2,
            },
            "securityContext": {"allowPrivilegeEscalation": False},
            "volumeMounts": [
                {"name": "workspace", "mountPath": "/workspace"},
                {"name": "run", "mountPath": RUN_DIR},
                {"name": "sandbox-secret", "mountPath": SECRET_DIR, "readOnly": True},
                {"name": "proxy-ca", "mountPath": CA_DIR, "readOnly": True},
            ],
        }

    def _prepare_container(self) -> dict[str, Any]:
        """Lays out the socket directories and the CA bundle before anything starts."""
        script = (
            f"mkdir -p {RUN_DIR}/in {RUN_DIR}/out {RUN_DIR}/session && "
            f"cat {SYSTEM_CAS} {CA_DIR}/ca.crt > {CA_BUNDLE}"
        )
        return {
            "name": "prepare",
            "image": self._kube.image,
            "command": ["sh", "-c", script],
            "securityContext": {"allowPrivilegeEscalation": False},
            "volumeMounts": [
                {"name": "run", "mountPath": RUN_DIR},
                {"name": "proxy-ca", "mountPath": CA_DIR, "readOnly": True},
            ],
        }

    def _auth_proxy_container(self) -> dict[str, Any]:
        return {
            "name": "auth-proxy",
            "image": self._kube.image,
            "command": ["python", "-m", "netclode_sandbox.authproxy"],
            "args": [
                "--listen",
                "127.0.0.1:8080",
                "--upstream-socket",
                f"{RUN_DIR}/out/proxy.sock",
                "--token-file",
                f"{RUN_DIR}/session/token",
            ],
            "securityContext": {"allowPrivilegeEscalation": False},
            "volumeMounts": [{"name": "run", "mountPath": RUN_DIR, "readOnly": True}],
        }

    def _bridge_container(self) -> dict[str, Any]:
        ingest = urlsplit(self._settings.ingest_url)
        ingest_addr = f"{ingest.hostname}:{ingest.port or 80}"
        script = " & ".join(
            [
                f"socat TCP-LISTEN:{self._kube.runtime_port},fork,reuseaddr "
                f"UNIX-CONNECT:{RUN_DIR}/in/sandbox.sock",
                f"socat UNIX-LISTEN:{RUN_DIR}/out/control.sock,fork,mode=666 TCP:{ingest_addr}",
                f"socat UNIX-LISTEN:{RUN_DIR}/out/proxy.sock,fork,mode=666 "
                f"TCP:{self._kube.secret_proxy_addr}",
            ]
        )
        return {
            "name": "bridge",
            "image": self._kube.image,
            "command": ["sh", "-c", f"{script} & wait"],
            "ports": [{"name": "runtime", "containerPort": self._kube.runtime_port}],
            "securityContext": {"allowPrivilegeEscalation": False},
            "volumeMounts": [{"name": "run", "mountPath": RUN_DIR}],
        }

    def _volumes(self, spec: SandboxSpec) -> list[dict[str, Any]]:
        return [
            {
                "name": "workspace",
                "persistentVolumeClaim": {"claimName": pvc_name(spec.workspace_id)},
            },
            {"name": "run", "emptyDir": {"medium": "Memory"}},
            {
                "name": "sandbox-secret",
                "secret": {"secretName": pod_name(spec.sandbox_id), "defaultMode": 0o400},
            },
            {"name": "proxy-ca", "configMap": {"name": "secret-proxy-ca"}},
        ]

    def _labels(self, spec: SandboxSpec) -> dict[str, str]:
        return {
            LABEL_APP: APP,
            "app.kubernetes.io/part-of": "netclode",
            LABEL_SANDBOX: spec.sandbox_id,
            LABEL_WORKSPACE: spec.workspace_id,
        }

    def _object(
        self, api_version: str, kind: str, name: str, labels: dict[str, str], spec: Any = None
    ) -> dict[str, Any]:
        meta = {"name": name, "namespace": self._kube.namespace, "labels": labels}
        return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}
