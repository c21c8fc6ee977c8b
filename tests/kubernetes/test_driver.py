"""The kubernetes sandbox driver against kmock over real HTTP: the objects it creates (and
their schemas), start / pause / resume / delete lifecycles, cleanup, and the RPC path."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from kubernetes import client

from netclode.auth.tokens import USER, Principal
from netclode.config import Settings
from netclode.drivers.base import SandboxInfo, SandboxSpec
from netclode.drivers.kube_manifests import KubernetesSettings
from netclode.drivers.kubernetes import KubernetesDriver
from netclode.sessions.service import SessionService
from netclode_protocol.errors import InvalidArgument, NotFound, Unavailable
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2
from tests.kubernetes.conftest import NAMESPACE, ConnectUnaryHandler, Emulator
from tests.support.manifests import validate_manifest

SPEC = SandboxSpec(sandbox_id="s1", workspace_id="w1")
# What a sandbox pod's environment may hold: paths, proxy settings and CA trust, no secret.
POD_ENV = sorted(
    [
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "HOME",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NETCLODE_CONTROL_SOCKET",
        "NETCLODE_INGEST_PATH",
        "NETCLODE_LISTEN_SOCKET",
        "NETCLODE_SECRET_FD",
        "NETCLODE_WORKSPACE",
        "NODE_EXTRA_CA_CERTS",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
    ]
)


def names(items: list) -> set[str]:
    return {i.metadata.name for i in items}


def pods(core: client.CoreV1Api) -> set[str]:
    return names(core.list_namespaced_pod(NAMESPACE).items)


def pvcs(core: client.CoreV1Api) -> set[str]:
    return names(core.list_namespaced_persistent_volume_claim(NAMESPACE).items)


def secrets(core: client.CoreV1Api) -> set[str]:
    return names(core.list_namespaced_secret(NAMESPACE).items)


def policies(kube_api: Emulator) -> set[str]:
    net = client.NetworkingV1Api(kube_api.api)
    return names(net.list_namespaced_network_policy(NAMESPACE).items)


def stored_pod(core: client.CoreV1Api, name: str) -> dict:
    return core.api_client.sanitize_for_serialization(core.read_namespaced_pod(name, NAMESPACE))


def set_status(core: client.CoreV1Api, name: str, phase: str, ip: str = "") -> None:
    status = {"phase": phase} | ({"podIP": ip} if ip else {})
    core.patch_namespaced_pod_status(name, NAMESPACE, {"status": status})


def test_start_creates_valid_pod_pvc_and_secret(driver: KubernetesDriver, core) -> None:
    driver.start(SPEC)
    assert pods(core) == {"sbx-s1"} and pvcs(core) == {"ws-w1"} and secrets(core) == {"sbx-s1"}
    for doc in (
        driver.manifests.pod(SPEC),
        driver.manifests.pvc(SPEC),
        driver.manifests.secret("s1"),
    ):
        validate_manifest(doc)
    pod = stored_pod(core, "sbx-s1")
    assert pod["spec"]["runtimeClassName"] == "kata"
    assert pod["spec"]["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "ws-w1"
    assert volumes["proxy-ca"]["configMap"]["name"] == "secret-proxy-ca"
    names_ = [c["name"] for c in pod["spec"]["containers"]]
    assert names_ == ["runtime", "auth-proxy", "bridge"]
    runtime = pod["spec"]["containers"][0]
    runtime_env = {e["name"]: e["value"] for e in runtime["env"]}
    assert runtime_env["HTTPS_PROXY"] == "http://127.0.0.1:8080"
    assert runtime_env["NETCLODE_INGEST_PATH"] == "/ingest"
    # Ready only once the runtime listens on the socket the bridge forwards to.
    probe = runtime["readinessProbe"]["exec"]["command"]
    assert probe == ["test", "-S", runtime_env["NETCLODE_LISTEN_SOCKET"]]


def test_no_secret_value_reaches_the_pod_spec(driver: KubernetesDriver, core) -> None:
    driver.start(SPEC)
    stored = core.read_namespaced_secret("sbx-s1", NAMESPACE)
    value = base64.b64decode(stored.data["secret"]).decode()
    assert len(value) >= 32
    pod_text = json.dumps(stored_pod(core, "sbx-s1"))
    assert value not in pod_text
    env = {
        e["name"]: e
        for container in stored_pod(core, "sbx-s1")["spec"]["containers"]
        for e in container.get("env", [])
    }
    assert all("valueFrom" not in e for e in env.values())
    # Every variable a pod gets, by name: a new one (a key, a token) must be added here.
    assert sorted(env) == POD_ENV


def test_default_size_uses_kata_defaults_and_custom_size_sets_vm_annotations(
    driver: KubernetesDriver,
) -> None:
    plain = driver.manifests.pod(SPEC)
    assert plain["metadata"]["annotations"] == {}
    assert plain["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "1000m",
        "memory": "1024Mi",
    }
    big = driver.manifests.pod(SandboxSpec("s2", "w2", vcpus=8, memory_mb=16384))
    assert big["metadata"]["annotations"] == {
        "io.katacontainers.config.hypervisor.default_vcpus": "8",
        "io.katacontainers.config.hypervisor.default_memory": "16384",
    }
    assert big["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "2000m",
        "memory": "4096Mi",
    }
    validate_manifest(big)


def test_a_session_asking_for_a_size_runs_in_a_pod_kata_sizes_so(
    kube_api: Emulator, core, redis_client, runtime_port: int
) -> None:
    """CreateSession with resources, through the session service, to the pod kmock stores."""
    settings = Settings(
        redis_url="redis://unused",
        ingest_url="http://ingest/ingest",
        max_vcpus=4,
        max_memory_mb=8192,
    )
    kube = KubernetesSettings(namespace=NAMESPACE, runtime_port=runtime_port)
    service = SessionService(
        settings, redis_client, KubernetesDriver(settings, api_client=kube_api.api, kube=kube)
    )
    size = common_pb2.SandboxResources(vcpus=2, memory_mb=3072)
    record = service.create(
        Principal("p-alice", "alice", USER), api_pb2.CreateSessionRequest(resources=size)
    )
    deadline = time.monotonic() + 10
    while not pods(core) and time.monotonic() < deadline:
        time.sleep(0.02)
    (name,) = pods(core)
    pod = stored_pod(core, name)
    assert pod["metadata"]["annotations"] == {
        "io.katacontainers.config.hypervisor.default_vcpus": "2",
        "io.katacontainers.config.hypervisor.default_memory": "3072",
    }
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "500m",
        "memory": "768Mi",
    }
    set_status(core, name, "Failed")  # lets the background start give up at once
    deadline = time.monotonic() + 10
    while service.store.get(record.id).status != common_pb2.SESSION_STATUS_ERROR:
        assert time.monotonic() < deadline, service.store.get(record.id)
        time.sleep(0.02)


def test_tailnet_access_adds_a_per_sandbox_policy(driver, core, kube_api) -> None:
    driver.start(SPEC)
    assert policies(kube_api) == set()
    spec = SandboxSpec("s2", "w2", tailnet_access=True)
    driver.start(spec)
    assert policies(kube_api) == {"sbx-s2-tailnet"}
    policy = driver.manifests.tailnet_policy(spec)
    validate_manifest(policy)
    assert policy["spec"]["podSelector"] == {"matchLabels": {"netclode.io/sandbox": "s2"}}
    assert policy["spec"]["egress"] == [{"to": [{"ipBlock": {"cidr": "100.64.0.0/10"}}]}]
    driver.stop("s2")
    assert policies(kube_api) == set()


def test_pause_keeps_the_workspace_and_resume_mounts_it_again(driver, core) -> None:
    driver.start(SPEC)
    driver.stop("s1")
    assert pods(core) == set() and secrets(core) == set() and pvcs(core) == {"ws-w1"}
    driver.stop("s1")  # idempotent
    resumed = SandboxSpec("s9", "w1")
    driver.start(resumed)
    assert pods(core) == {"sbx-s9"} and pvcs(core) == {"ws-w1"}
    volumes = {v["name"]: v for v in stored_pod(core, "sbx-s9")["spec"]["volumes"]}
    assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "ws-w1"


def test_a_retried_start_is_harmless(driver, core) -> None:
    driver.start(SPEC)
    driver.start(SPEC)
    assert pods(core) == {"sbx-s1"} and pvcs(core) == {"ws-w1"}


def test_delete_workspace_removes_everything_the_session_owned(driver, core, kube_api) -> None:
    driver.start(SandboxSpec("s1", "w1", tailnet_access=True))
    driver.start(SandboxSpec("s2", "w2"))
    driver.delete_workspace("w1")
    assert pods(core) == {"sbx-s2"} and pvcs(core) == {"ws-w2"}
    assert secrets(core) == {"sbx-s2"} and policies(kube_api) == set()
    driver.delete_workspace("w1")  # idempotent


def test_list_reports_sandboxes_and_whether_they_live(driver, core) -> None:
    driver.start(SandboxSpec("s1", "w1"))
    driver.start(SandboxSpec("s2", "w2"))
    set_status(core, "sbx-s1", "Running", "127.0.0.1")
    set_status(core, "sbx-s2", "Failed")
    unrelated = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "redis-0", "namespace": NAMESPACE, "labels": {"app": "redis"}},
        "spec": {"containers": [{"name": "redis", "image": "valkey"}]},
    }
    core.create_namespaced_pod(NAMESPACE, unrelated)
    assert sorted(driver.list(), key=lambda i: i.sandbox_id) == [
        SandboxInfo("s1", "w1", alive=True),
        SandboxInfo("s2", "w2", alive=False),
    ]


class FakeRuntime(ConnectUnaryHandler):
    """A loopback stand-in for the runtime behind the bridge: Connect unary Health."""

    expected_auth = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/netclode.v1.SandboxService/Health":
            self.reply(404, b'{"code": "not_found", "message": "no such method"}', "json")
        elif self.headers.get("Authorization") != self.expected_auth:
            self.reply(401, b'{"code": "unauthenticated", "message": "bad secret"}', "json")
        else:
            body = agent_pb2.HealthResponse(ready=True, session_id="sess").SerializeToString()
            self.reply(200, body, "proto")


@pytest.fixture
def fake_runtime(runtime_port: int) -> Iterator[type[FakeRuntime]]:
    server = ThreadingHTTPServer(("127.0.0.1", runtime_port), FakeRuntime)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FakeRuntime
    server.shutdown()
    server.server_close()


def test_rpc_reaches_the_pod_ip_with_the_sandbox_secret(driver, core, fake_runtime) -> None:
    driver.start(SPEC)
    set_status(core, "sbx-s1", "Running", "127.0.0.1")
    stored = core.read_namespaced_secret("sbx-s1", NAMESPACE)
    fake_runtime.expected_auth = f"Bearer {base64.b64decode(stored.data['secret']).decode()}"
    rpc = driver.rpc("s1")
    try:
        health = rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse)
    finally:
        rpc.close()
    assert health.ready and health.session_id == "sess"


def test_rpc_to_a_sandbox_without_a_running_pod_fails_clearly(driver, core) -> None:
    with pytest.raises(NotFound, match="sbx-nope"):
        driver.rpc("nope")
    driver.start(SPEC)
    with pytest.raises(Unavailable, match="has no running pod"):
        driver.rpc("s1")


@pytest.mark.parametrize("bad", ["UPPER", "has_underscore", "-dash", "x" * 60])
def test_ids_that_cannot_name_kubernetes_objects_are_refused(driver, core, bad: str) -> None:
    with pytest.raises(InvalidArgument, match="sandbox_id"):
        driver.start(SandboxSpec(bad, "w1"))
    assert pods(core) == set() and pvcs(core) == set()
