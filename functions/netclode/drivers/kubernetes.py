"""The `kubernetes` sandbox driver: one Kata pod per sandbox, one PVC per workspace.

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
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client, config
from kubernetes.utils import parse_quantity

from netclode.auth.secrets import new_token
from netclode.config import Settings
from netclode.drivers.base import SandboxInfo, SandboxSpec
from netclode.drivers.rpc import SandboxRPC, plain_transport
from netclode.errors import InvalidArgument, NotFound, Unavailable
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
ALIVE_PHASES = {"Pending", "Running"}
SNAPSHOT_GROUP, SNAPSHOT_VERSION, SNAPSHOT_PLURAL = (
    "snapshot.storage.k8s.io",
    "v1",
    "volumesnapshots",
)
SNAPSHOT_POLL_S = 1.0
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


def _load_api_client() -> client.ApiClient:
    """In a pod: its service account. Elsewhere: the kubeconfig context `netclode`."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config(context=read_text("NETCLODE_K8S_CONTEXT"))
    return client.ApiClient()


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


class KubernetesDriver:
    """SandboxDriver on the Kubernetes API (official client, synchronous)."""

    name = "kubernetes"

    def __init__(
        self,
        settings: Settings,
        api_client: client.ApiClient | None = None,
        kube: KubernetesSettings | None = None,
    ) -> None:
        self._settings = settings
        self._kube = kube or KubernetesSettings.from_env()
        api = api_client or _load_api_client()
        self._core = client.CoreV1Api(api)
        self._net = client.NetworkingV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    # -- SandboxDriver ---------------------------------------------------------------

    def start(self, spec: SandboxSpec) -> None:
        """Creates the workspace PVC (if new), the sandbox Secret, the pod, and the tailnet
        policy when asked. Names are deterministic, so a retried start is a no-op."""
        # Every body is built (and every name checked) before the first object is created.
        pod, pvc, secret = self.pod(spec), self.pvc(spec), self.secret(spec.sandbox_id)
        policy = self.tailnet_policy(spec) if spec.tailnet_access else None
        ns = self._kube.namespace
        self._create(self._core.create_namespaced_persistent_volume_claim, ns, pvc)
        self._create(self._core.create_namespaced_secret, ns, secret)
        if policy:
            self._create(self._net.create_namespaced_network_policy, ns, policy)
        self._create(self._core.create_namespaced_pod, ns, pod)

    def stop(self, sandbox_id: str) -> None:
        """Deletes the pod and what only it used; the workspace PVC stays (pause)."""
        ns = self._kube.namespace
        self._delete(self._core.delete_namespaced_pod, pod_name(sandbox_id), ns)
        self._delete(self._core.delete_namespaced_secret, pod_name(sandbox_id), ns)
        policy = tailnet_policy_name(sandbox_id)
        self._delete(self._net.delete_namespaced_network_policy, policy, ns)
        for name in self._previews(self._core.list_namespaced_service, sandbox_id):
            self._delete(self._core.delete_namespaced_service, name, ns)
        for name in self._previews(self._net.list_namespaced_network_policy, sandbox_id):
            self._delete(self._net.delete_namespaced_network_policy, name, ns)

    def list(self) -> list[SandboxInfo]:
        return [
            SandboxInfo(
                sandbox_id=pod.metadata.labels[LABEL_SANDBOX],
                workspace_id=pod.metadata.labels.get(LABEL_WORKSPACE, ""),
                alive=_alive(pod),
            )
            for pod in self._sandbox_pods()
        ]

    def rpc(self, sandbox_id: str) -> SandboxRPC:
        """A client for the sandbox's runtime at the pod IP, presenting its secret."""
        pod = self._read(self._core.read_namespaced_pod, pod_name(sandbox_id))
        if not _alive(pod) or not (pod.status and pod.status.pod_ip):
            raise Unavailable(f"sandbox {sandbox_id} has no running pod")
        secret = self._read(self._core.read_namespaced_secret, pod_name(sandbox_id))
        token = base64.b64decode(secret.data["secret"]).decode()
        base_url = f"http://{pod.status.pod_ip}:{self._kube.runtime_port}"
        return SandboxRPC(plain_transport(retries=1), base_url, token)

    def delete_workspace(self, workspace_id: str) -> None:
        """Removes the PVC and every sandbox still bound to it."""
        for pod in self._sandbox_pods():
            if pod.metadata.labels.get(LABEL_WORKSPACE) == workspace_id:
                self.stop(pod.metadata.labels[LABEL_SANDBOX])
        ns = self._kube.namespace
        self._delete(
            self._core.delete_namespaced_persistent_volume_claim, pvc_name(workspace_id), ns
        )

    def snapshot_workspace(self, workspace_id: str, snapshot_id: str) -> int:
        """Creates a VolumeSnapshot of the workspace PVC and waits until it is cut
        (readyToUse), so the snapshot holds the files as they are now."""
        body = self.volume_snapshot(workspace_id, snapshot_id)
        self._create(self._create_snapshot, self._kube.namespace, body)
        deadline = time.monotonic() + self._kube.snapshot_ready_timeout
        while time.monotonic() < deadline:
            status = self._read(self._read_snapshot, snapshot_id).get("status") or {}
            if status.get("error", {}).get("message"):
                raise Unavailable(f"snapshot {snapshot_id} failed: {status['error']['message']}")
            if status.get("readyToUse"):
                return int(parse_quantity(status.get("restoreSize") or "0"))
            time.sleep(SNAPSHOT_POLL_S)
        raise Unavailable(
            f"snapshot {snapshot_id} not ready after {self._kube.snapshot_ready_timeout:g}s"
        )

    def clone_workspace(self, snapshot_id: str, workspace_id: str) -> None:
        """A new PVC provisioned from the VolumeSnapshot (the CSI driver copies the data)."""
        self._read(self._read_snapshot, snapshot_id)  # NotFound before creating anything
        pvc = self.pvc(SandboxSpec(sandbox_id="", workspace_id=workspace_id))
        pvc["spec"]["dataSource"] = {
            "apiGroup": SNAPSHOT_GROUP,
            "kind": "VolumeSnapshot",
            "name": snapshot_id,
        }
        ns = self._kube.namespace
        self._create(self._core.create_namespaced_persistent_volume_claim, ns, pvc)

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._delete(self._delete_snapshot, snapshot_id, self._kube.namespace)

    def expose_port(self, sandbox_id: str, port: int, previous_url: str = "") -> str:
        """A Service for the port, selecting this sandbox's pod, and the policy letting its
        clients in; the Service's cluster (or tailnet) name is the preview URL."""
        self._read(self._core.read_namespaced_pod, pod_name(sandbox_id))
        body, policy = self.preview_service(sandbox_id, port), self.preview_policy(sandbox_id, port)
        ns = self._kube.namespace
        self._create(self._net.create_namespaced_network_policy, ns, policy)
        self._create(self._core.create_namespaced_service, ns, body)
        name = body["metadata"]["name"]
        if self._kube.preview_tailnet:
            return f"http://{name}:{port}/"
        return f"http://{name}.{self._kube.namespace}.svc.cluster.local:{port}/"

    def unexpose_port(self, sandbox_id: str, port: int) -> None:
        name = preview_service_name(sandbox_id, port)
        self._delete(self._core.delete_namespaced_service, name, self._kube.namespace)
        self._delete(self._net.delete_namespaced_network_policy, name, self._kube.namespace)

    # -- object templates (public: the manifest tests validate them) -----------------

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
        # KATA_VM_* values as settings); a size asked for goes to Kata as annotations.
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

    def _sandbox_pods(self) -> list[client.V1Pod]:
        # Filtered here too: the selector is an optimisation, the labels are the truth.
        pods = self._core.list_namespaced_pod(
            self._kube.namespace, label_selector=f"{LABEL_APP}={APP}"
        ).items
        return [
            p
            for p in pods
            if (p.metadata.labels or {}).get(LABEL_APP) == APP
            and LABEL_SANDBOX in p.metadata.labels
        ]

    def _previews(self, list_objects: Any, sandbox_id: str) -> list[str]:
        """Names of the sandbox's preview objects (Services or NetworkPolicies)."""
        items = list_objects(
            self._kube.namespace, label_selector=f"{LABEL_SANDBOX}={sandbox_id}"
        ).items
        prefix = f"{pod_name(sandbox_id)}-p"
        return [
            o.metadata.name
            for o in items
            if (o.metadata.labels or {}).get(LABEL_SANDBOX) == sandbox_id
            and o.metadata.name.startswith(prefix)
        ]

    def _create_snapshot(self, namespace: str, body: dict[str, Any]) -> Any:
        return self._custom.create_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, namespace, SNAPSHOT_PLURAL, body
        )

    def _read_snapshot(self, name: str, namespace: str) -> Any:
        return self._custom.get_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, namespace, SNAPSHOT_PLURAL, name
        )

    def _delete_snapshot(self, name: str, namespace: str) -> Any:
        return self._custom.delete_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, namespace, SNAPSHOT_PLURAL, name
        )

    def _read(self, read: Any, name: str) -> Any:
        try:
            return read(name, self._kube.namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                raise NotFound(f"no sandbox object {name}") from None
            raise Unavailable(f"Kubernetes API: {exc.status} {exc.reason}") from None

    @staticmethod
    def _create(create: Any, namespace: str, body: dict[str, Any]) -> None:
        try:
            create(namespace, body)
        except client.ApiException as exc:
            if exc.status != 409:  # AlreadyExists: a retried start
                raise Unavailable(f"Kubernetes API: {exc.status} {exc.reason}") from None

    @staticmethod
    def _delete(delete: Any, name: str, namespace: str) -> None:
        try:
            delete(name, namespace)
        except client.ApiException as exc:
            if exc.status != 404:  # already gone: stop is idempotent
                raise Unavailable(f"Kubernetes API: {exc.status} {exc.reason}") from None


def _alive(pod: client.V1Pod) -> bool:
    if pod.metadata.deletion_timestamp:
        return False
    phase = pod.status.phase if pod.status else None
    return phase is None or phase in ALIVE_PHASES
