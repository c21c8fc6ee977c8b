"""KubernetesDriver snapshots (VolumeSnapshot, restore into a new PVC) and preview Services,
against kmock. kmock runs no snapshot controller: the test plays it, marking the snapshot
ready the way the external-snapshotter would."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.kube_manifests import KubernetesSettings
from netclode.drivers.kubernetes import KubernetesDriver
from netclode_protocol.errors import NotFound, Unavailable
from tests.kubernetes.conftest import NAMESPACE, Emulator
from tests.support.manifests import validate_manifest

GROUP, VERSION, PLURAL = "snapshot.storage.k8s.io", "v1", "volumesnapshots"
SPEC = SandboxSpec(sandbox_id="s1", workspace_id="w1")


def custom(kube_api: Emulator) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube_api.api)


def mark_ready_when_created(kube_api: Emulator, name: str, size: str = "3Gi") -> threading.Thread:
    """The snapshot controller's part: once the object exists, report it cut."""

    def run() -> None:
        api = custom(kube_api)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                api.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    NAMESPACE,
                    PLURAL,
                    name,
                    {"status": {"readyToUse": True, "restoreSize": size}},
                )
                return
            except client.ApiException:
                time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_snapshot_waits_until_cut_and_restores_into_a_new_pvc(
    driver: KubernetesDriver, core, kube_api
) -> None:
    driver.start(SPEC)
    helper = mark_ready_when_created(kube_api, "snap-1")
    assert driver.snapshot_workspace("w1", "snap-1") == 3 * 1024**3
    helper.join(5)
    stored = custom(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, NAMESPACE, PLURAL, "snap-1"
    )
    assert stored["spec"] == {
        "volumeSnapshotClassName": "netclode-workspaces",
        "source": {"persistentVolumeClaimName": "ws-w1"},
    }
    validate_manifest(driver.manifests.volume_snapshot("w1", "snap-1"))

    driver.clone_workspace("snap-1", "w2")
    pvc = core.read_namespaced_persistent_volume_claim("ws-w2", NAMESPACE)
    assert pvc.spec.data_source.kind == "VolumeSnapshot"
    assert pvc.spec.data_source.name == "snap-1"
    assert pvc.spec.data_source.api_group == GROUP
    # The original workspace is untouched: the clone is its own claim.
    assert core.read_namespaced_persistent_volume_claim("ws-w1", NAMESPACE).spec.data_source is None

    driver.delete_snapshot("snap-1")
    with pytest.raises(client.ApiException) as gone:
        custom(kube_api).get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "snap-1")
    assert gone.value.status == 404
    driver.delete_snapshot("snap-1")  # idempotent


def test_a_snapshot_never_cut_fails_clearly(kube_api: Emulator) -> None:
    kube = KubernetesSettings(namespace=NAMESPACE, snapshot_ready_timeout=0.5)
    driver = KubernetesDriver(Settings(), api_client=kube_api.api, kube=kube)
    with pytest.raises(Unavailable, match=r"snap-slow not ready after 0\.5s"):
        driver.snapshot_workspace("w1", "snap-slow")


def test_cloning_a_missing_snapshot_creates_nothing(driver: KubernetesDriver, core) -> None:
    with pytest.raises(NotFound):
        driver.clone_workspace("snap-none", "w9")
    assert "ws-w9" not in {
        p.metadata.name for p in core.list_namespaced_persistent_volume_claim(NAMESPACE).items
    }


@pytest.mark.parametrize("tailnet", [False, True])
def test_preview_port_is_a_service_for_the_sandbox_pod(
    kube_api: Emulator, core, tailnet: bool
) -> None:
    net = client.NetworkingV1Api(kube_api.api)
    kube = KubernetesSettings(namespace=NAMESPACE, preview_tailnet=tailnet)
    driver = KubernetesDriver(Settings(), api_client=kube_api.api, kube=kube)
    driver.start(SPEC)
    url = driver.expose_port("s1", 8000)
    service = core.read_namespaced_service("sbx-s1-p8000", NAMESPACE)
    assert service.spec.selector == {
        "app.kubernetes.io/name": "netclode-sandbox",
        "netclode.io/sandbox": "s1",
    }
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(8000, 8000)]
    validate_manifest(driver.manifests.preview_service("s1", 8000))
    annotations = service.metadata.annotations or {}
    if tailnet:
        assert url == "http://sbx-s1-p8000:8000/"
        assert annotations == {
            "tailscale.com/expose": "true",
            "tailscale.com/hostname": "sbx-s1-p8000",
        }
    else:
        assert url == f"http://sbx-s1-p8000.{NAMESPACE}.svc.cluster.local:8000/"
        assert "tailscale.com/expose" not in annotations
    driver.expose_port("s1", 9000)
    driver.unexpose_port("s1", 8000)
    assert previews(core, net) == {"sbx-s1-p9000"}
    driver.stop("s1")  # pause: the sandbox's previews go with it (re-exposed on resume)
    assert previews(core, net) == set()


def previews(core: client.CoreV1Api, net: client.NetworkingV1Api) -> set[str]:
    """Preview objects left; a Service and its policy always come and go together."""
    services = {s.metadata.name for s in core.list_namespaced_service(NAMESPACE).items}
    policies = {p.metadata.name for p in net.list_namespaced_network_policy(NAMESPACE).items}
    policies.discard("sbx-s1-tailnet")
    assert services == policies
    return services


@pytest.mark.parametrize("tailnet", [False, True])
def test_preview_port_is_let_in_past_the_sandbox_default_deny(
    kube_api: Emulator, tailnet: bool
) -> None:
    """The sandbox-ingress policy admits only the runtime port: without a policy of its
    own, a preview Service would lead nowhere."""
    kube = KubernetesSettings(namespace=NAMESPACE, preview_tailnet=tailnet)
    driver = KubernetesDriver(Settings(), api_client=kube_api.api, kube=kube)
    driver.start(SPEC)
    driver.expose_port("s1", 8000)
    net = client.NetworkingV1Api(kube_api.api)
    policy = net.read_namespaced_network_policy("sbx-s1-p8000", NAMESPACE)
    validate_manifest(driver.manifests.preview_policy("s1", 8000))
    assert policy.spec.pod_selector.match_labels == {"netclode.io/sandbox": "s1"}
    assert policy.spec.policy_types == ["Ingress"]
    (rule,) = policy.spec.ingress
    assert [(p.protocol, p.port) for p in rule.ports] == [("TCP", 8000)]
    (peer,) = rule._from
    if tailnet:
        assert peer.namespace_selector.match_labels == {"kubernetes.io/metadata.name": "tailscale"}
        assert peer.pod_selector is None
    else:
        assert peer.namespace_selector is None
        assert peer.pod_selector.match_labels is None  # every pod of this namespace
