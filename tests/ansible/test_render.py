"""site.yaml in render mode on this machine: idempotent, and every file it writes is valid.

The rendered files are what a real host gets; they are checked against the same schemas and
contracts the rest of the project uses (knative/ manifests, the secret proxy, containerd).
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiClient

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.kube_manifests import ANNOTATIONS, KubernetesSettings
from netclode.drivers.kubernetes import KubernetesDriver
from tests.ansible.conftest import REPO, TAILNET, Rendered
from tests.support.manifests import load_documents, validate_manifest

# Two full site.yaml runs (about 25 s of CPU each; far longer on a loaded machine).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def deployed_documents(rendered: Rendered) -> list[dict]:
    """The overlay the host applies, built from the unpacked source of the deployed commit
    (as on a real host)."""
    built = subprocess.run(
        ["kubectl", "kustomize", str(rendered.root / "opt/netclode/deploy")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(built) if d]


def test_second_run_changes_nothing(rendered: Rendered) -> None:
    assert rendered.first.changed > 0
    assert rendered.second.changed == 0, rendered.second.output[-3000:]


def test_containerd_template_declares_the_runtimeclass_handler(rendered: Rendered) -> None:
    text = (
        rendered.root / "var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl"
    ).read_text()
    base, _, ours = text.partition("\n")
    assert base == '{{ template "base" . }}'
    config = tomllib.loads(ours)
    runtimes = config["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]
    # k3s writes runc itself; re-declaring it would stop containerd from starting.
    assert "runc" not in runtimes
    (runtime_class,) = load_documents(REPO / "knative/base/security/runtimeclass.yaml")
    kata = runtimes[runtime_class["handler"]]
    assert kata["runtime_type"] == "io.containerd.kata.v2"
    assert kata["options"]["ConfigPath"].endswith("configuration-clh.toml")


def test_k3s_server_config_disables_traefik(rendered: Rendered) -> None:
    config = yaml.safe_load((rendered.root / "etc/rancher/k3s/config.yaml").read_text())
    assert config["disable"] == ["traefik"]
    # DEPLOY_HOST is an IP here: the host is named netclode-host, never "127".
    assert config["tls-san"] == [
        "127.0.0.1",
        "netclode-host",
        f"netclode-host.{TAILNET}",
    ]
    (runtime_class,) = load_documents(REPO / "knative/base/security/runtimeclass.yaml")
    selector = runtime_class["scheduling"]["nodeSelector"]
    assert [f"{k}={v}" for k, v in selector.items()] == config["node-label"]


def kata_dropin(rendered: Rendered) -> dict:
    path = rendered.root / "opt/kata/share/defaults/kata-containers/config.d/50-netclode.toml"
    return tomllib.loads(path.read_text())


def test_kata_dropin_is_toml(rendered: Rendered) -> None:
    config = kata_dropin(rendered)
    assert config["hypervisor"]["clh"]["default_vcpus"] >= 1
    assert config["runtime"]["sandbox_cgroup_only"] is True


def test_kata_allows_exactly_the_size_annotations_the_driver_sets(rendered: Rendered) -> None:
    """Without enable_annotations Kata refuses a pod that asks for a size."""
    clh = kata_dropin(rendered)["hypervisor"]["clh"]
    assert sorted(clh["enable_annotations"]) == sorted(ANNOTATIONS)
    asked = KubernetesDriver(
        Settings(), api_client=ApiClient(), kube=KubernetesSettings()
    ).manifests.pod(SandboxSpec("s1", "w1", vcpus=1, memory_mb=1024))["metadata"]["annotations"]
    prefix = "io.katacontainers.config.hypervisor."
    assert sorted(a.removeprefix(prefix) for a in asked) == sorted(clh["enable_annotations"])


def test_sysctls_and_modules(rendered: Rendered) -> None:
    sysctl = (rendered.root / "etc/sysctl.d/90-netclode.conf").read_text()
    assert "net.ipv4.ip_forward = 1" in sysctl
    assert (
        "vm.overcommit_memory = 1"
        in (rendered.root / "etc/sysctl.d/91-netclode-redis.conf").read_text()
    )
    modules = (rendered.root / "etc/modules-load.d/netclode.conf").read_text().split()
    assert {"vhost_vsock", "br_netfilter"} <= set(modules)


def test_nftables_drops_input_by_default(rendered: Rendered) -> None:
    ruleset = (rendered.root / "etc/nftables.conf").read_text()
    assert "type filter hook input priority filter; policy drop;" in ruleset
    assert "tcp dport { 22, 80, 443 } accept" in ruleset


def test_secret_proxy_ca_is_a_ca_generated_once(rendered: Rendered) -> None:
    ca_dir = rendered.root / "var/lib/netclode/secret-proxy"
    assert (ca_dir / "ca.crt").read_bytes() == rendered.ca_after_first
    assert (ca_dir / "ca.key").stat().st_mode & 0o777 == 0o600
    assert ca_dir.stat().st_mode & 0o777 == 0o700
    text = subprocess.run(
        ["openssl", "x509", "-in", str(ca_dir / "ca.crt"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CA:TRUE" in text and "Certificate Sign" in text
    check = subprocess.run(
        ["openssl", "x509", "-in", str(ca_dir / "ca.crt"), "-noout", "-pubkey"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key_pub = subprocess.run(
        ["openssl", "pkey", "-in", str(ca_dir / "ca.key"), "-pubout"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert check == key_pub


def test_deployment_overlay_builds_with_the_commit_images(
    rendered: Rendered, tmp_path: Path
) -> None:
    docs = deployed_documents(rendered)
    for doc in docs:
        validate_manifest(doc)
    images = {
        c["image"]
        for d in docs
        for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    }
    ours = {i for i in images if "netclode" in i}
    assert ours and all(
        i.startswith("dev.local/") and i.endswith(f":{rendered.version}") for i in ours
    )
    assert not any(i.endswith(":latest") for i in images), images
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "netclode-config"
    )
    assert (
        config["data"]["NETCLODE_SANDBOX_IMAGE"] == f"dev.local/netclode-sandbox:{rendered.version}"
    )
    assert "OLLAMA_URL" in config["data"]
    # The functions report (and size requests by) the VM default the Kata drop-in sets.
    clh = kata_dropin(rendered)["hypervisor"]["clh"]
    assert config["data"]["NETCLODE_DEFAULT_VCPUS"] == str(clh["default_vcpus"])
    assert config["data"]["NETCLODE_DEFAULT_MEMORY_MB"] == str(clh["default_memory"])
    ollama = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "ollama"
    )
    assert ollama["spec"]["template"]["metadata"]["labels"]["app"] == "ollama"


def test_tailscale_ingresses_route_their_names_to_the_api_and_the_webhook(
    rendered: Rendered,
) -> None:
    docs = deployed_documents(rendered)
    ingresses = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Ingress"}
    assert set(ingresses) == {"netclode-control-plane-ingress", "netclode-github-bot-ingress"}
    for name, ingress in ingresses.items():
        # The Tailscale operator names the tailnet device after the first TLS host.
        assert ingress["spec"]["ingressClassName"] == "tailscale"
        assert ingress["spec"]["tls"][0]["hosts"] == [name]
        backend = ingress["spec"]["defaultBackend"]["service"]
        assert (ingress["metadata"]["namespace"], backend["name"]) == ("kourier-system", "kourier")
    funnel = {
        n
        for n, i in ingresses.items()
        if i["metadata"].get("annotations", {}).get("tailscale.com/funnel") == "true"
    }
    assert funnel == {"netclode-github-bot-ingress"}
    # Tailscale keeps the Host header: Kourier needs a claimed DomainMapping for each name.
    mappings = {
        d["metadata"]["name"]: d["spec"]["ref"]["name"]
        for d in docs
        if d["kind"] == "DomainMapping"
    }
    assert mappings == {
        f"netclode-control-plane-ingress.{TAILNET}": "api",
        f"netclode-github-bot-ingress.{TAILNET}": "webhook",
    }
    claims = {
        d["metadata"]["name"]: d["spec"]["namespace"]
        for d in docs
        if d["kind"] == "ClusterDomainClaim"
    }
    assert claims == dict.fromkeys(mappings, "netclode")


def test_gpu_operator_keeps_the_host_driver_and_labels_gpu_nodes(rendered: Rendered) -> None:
    docs = list(load_documents(rendered.root / "opt/netclode/manifests/gpu-operator.yaml"))
    for doc in docs:
        validate_manifest(doc)
    (namespace,) = [d for d in docs if d["kind"] == "Namespace"]
    (chart,) = [d for d in docs if d["kind"] == "HelmChart"]
    assert chart["spec"]["targetNamespace"] == namespace["metadata"]["name"] == "gpu-operator"
    versions = yaml.safe_load((REPO / "ansible/playbooks/group_vars/all/versions.yaml").read_text())
    assert chart["spec"]["version"] == versions["gpu_operator_version"]
    values = yaml.safe_load(chart["spec"]["valuesContent"])
    assert values["driver"]["enabled"] is False  # the MOK-signed DKMS driver stays
    assert values["toolkit"]["enabled"] is False  # the host toolkit; k3s adds the runtime
    assert values["nfd"]["enabled"] is True  # feature discovery -> nvidia.com/gpu.present
    (ollama,) = [
        d
        for d in load_documents(REPO / "knative/overlays/gpu/ollama.yaml")
        if d["kind"] == "Deployment"
    ]
    assert ollama["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_tailscale_operator_chart_holds_no_oauth_client(rendered: Rendered) -> None:
    docs = list(load_documents(rendered.root / "opt/netclode/manifests/tailscale-operator.yaml"))
    for doc in docs:
        validate_manifest(doc)
    (chart,) = [d for d in docs if d["kind"] == "HelmChart"]
    assert chart["spec"]["targetNamespace"] == "tailscale"
    # The client goes into the operator-oauth Secret the chart mounts, never into values.
    assert "oauth" not in (yaml.safe_load(chart["spec"]["valuesContent"]) or {})


def test_activator_drains_at_least_as_long_as_the_longest_request(rendered: Rendered) -> None:
    (defaults,) = load_documents(REPO / "knative/cluster/config-defaults.yaml")
    patch = yaml.safe_load(
        (rendered.root / "opt/netclode/manifests/knative/activator.yaml").read_text()
    )
    grace = patch["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > int(defaults["data"]["max-revision-timeout-seconds"])
    network = yaml.safe_load(
        (rendered.root / "opt/netclode/manifests/knative/config-network.yaml").read_text()
    )
    assert network["data"]["ingress-class"] == "kourier.ingress.networking.knative.dev"


def test_nvidia_runtimeclass_is_valid(rendered: Rendered) -> None:
    (doc,) = load_documents(rendered.root / "opt/netclode/manifests/nvidia-runtimeclass.yaml")
    validate_manifest(doc)
    assert doc["handler"] == "nvidia"


def test_storage_is_installed_after_knative_and_before_the_manifests(rendered: Rendered) -> None:
    """knative/cluster's VolumeSnapshotClass (applied by the netclode role) needs the
    snapshot CRDs the storage role installs."""
    tasks = [line for line in rendered.first.output.splitlines() if line.startswith("TASK [")]
    first = {}
    for index, line in enumerate(tasks):
        role = line.removeprefix("TASK [").partition(" : ")[0]
        first.setdefault(role, index)
    assert first["knative"] < first["storage"] < first["netclode"]


def test_snapshotter_sidecar_and_its_rbac_are_pinned_and_valid(rendered: Rendered) -> None:
    versions = yaml.safe_load((REPO / "ansible/playbooks/group_vars/all/versions.yaml").read_text())
    storage = rendered.root / "opt/netclode/manifests/storage"
    patch = yaml.safe_load((storage / "juicefs-snapshotter-patch.yaml").read_text())
    (sidecar,) = patch["spec"]["template"]["spec"]["containers"]
    assert sidecar["name"] == "csi-snapshotter"
    assert sidecar["image"].endswith(f"/csi-snapshotter:{versions['external_snapshotter_version']}")
    (env,) = sidecar["env"]
    (mount,) = sidecar["volumeMounts"]
    assert env["value"] == mount["mountPath"] + "csi.sock"
    docs = list(load_documents(storage / "juicefs-snapshotter-rbac.yaml"))
    for doc in docs:
        validate_manifest(doc)
    bound = {s["name"] for d in docs if d["kind"].endswith("Binding") for s in d["subjects"]}
    assert bound == {"juicefs-csi-controller-sa"}
