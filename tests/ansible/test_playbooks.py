"""Every playbook parses, the whole tree meets ansible-lint's production profile, and the
storage role installs pinned releases in the order the manifests need."""

from __future__ import annotations

import json
import re

import jinja2
import pytest
import yaml

from netclode.drivers.kube_manifests import KubernetesSettings
from tests.ansible.conftest import ANSIBLE_DIR, run_ansible
from tests.manifests.conftest import KNATIVE, kustomize

PLAYBOOKS = sorted(p.name for p in (ANSIBLE_DIR / "playbooks").glob("*.yaml"))


def test_the_four_playbooks_exist() -> None:
    assert set(PLAYBOOKS) >= {"site.yaml", "k8s-only.yaml", "fetch-kubeconfig.yaml", "secrets.yaml"}


def test_syntax_check_with_the_default_inventory(ansible_env: dict[str, str]) -> None:
    # No -i: ansible.cfg's inventory reads DEPLOY_HOST, as in `DEPLOY_HOST=x ansible-playbook ...`.
    paths = [f"playbooks/{p}" for p in PLAYBOOKS]
    result = run_ansible(ansible_env, "ansible-playbook", "--syntax-check", *paths)
    assert result.rc == 0, result.output
    for path in paths:
        assert f"playbook: {path}" in result.output


def test_inventory_takes_the_host_from_deploy_host(ansible_env: dict[str, str]) -> None:
    env = {**ansible_env, "DEPLOY_HOST": "203.0.113.7"}
    # debug runs on the controller: nothing is contacted, the inventory is only templated.
    result = run_ansible(
        env, "ansible", "netclode", "-m", "ansible.builtin.debug", "-a", "var=ansible_host"
    )
    assert result.rc == 0, result.output
    assert '"ansible_host": "203.0.113.7"' in result.output


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ansible_lint_production_profile_is_clean(ansible_env: dict[str, str]) -> None:
    result = run_ansible(ansible_env, "ansible-lint", "--offline", "--nocolor", "-q", timeout=300)
    assert result.rc == 0, result.output[-4000:]


def _storage_vars() -> dict[str, object]:
    """The storage role's defaults with the pinned versions, templates resolved."""

    raw = {
        **yaml.safe_load((ANSIBLE_DIR / "playbooks/group_vars/all/versions.yaml").read_text()),
        **yaml.safe_load((ANSIBLE_DIR / "roles/storage/defaults/main.yaml").read_text()),
    }
    resolved = json.dumps(raw)
    while "{{" in resolved:
        resolved = jinja2.Template(resolved).render(**json.loads(resolved))
    return json.loads(resolved)


def test_storage_release_files_are_pinned_and_ordered() -> None:
    """Snapshot CRDs, then the snapshot controller, then the CSI driver; each from a fixed
    release, never a branch."""
    values = _storage_vars()
    for key in ("external_snapshotter_version", "juicefs_csi_version"):
        assert re.fullmatch(r"v\d+\.\d+\.\d+", str(values[key])), key
    files = values["storage_release_files"]
    names = [f["name"] for f in files]
    crds = [n for n in names if n.startswith("crd-")]
    assert {c.removeprefix("crd-").removesuffix(".yaml") for c in crds} == set(
        values["storage_snapshot_crds"]
    )
    assert names[: len(crds)] == crds
    assert names[len(crds) :] == [
        "snapshot-controller-rbac.yaml",
        "snapshot-controller.yaml",
        "juicefs-csi.yaml",
    ]
    for f in files:
        project = (
            "juicefs_csi_version" if "juicefs" in f["name"] else "external_snapshotter_version"
        )
        assert f"/{values[project]}/" in f["url"], f
        assert not re.search(r"/(master|main|latest)/", f["url"]), f


def test_storage_classes_name_the_installed_driver() -> None:
    """The StorageClass and the VolumeSnapshotClass applied from knative/cluster name the
    CSI driver the storage role installs, and the classes the functions are told to use."""
    built = kustomize(KNATIVE / "overlays/production")
    (storage_class,) = [d for d in built if d["kind"] == "StorageClass"]
    (snapshot_class,) = [d for d in built if d["kind"] == "VolumeSnapshotClass"]
    driver = _storage_vars()["storage_csi_driver"]
    assert storage_class["provisioner"] == snapshot_class["driver"] == driver
    config = next(d for d in built if d["metadata"]["name"] == "netclode-config")
    assert config["data"]["NETCLODE_STORAGE_CLASS"] == storage_class["metadata"]["name"]
    assert KubernetesSettings.snapshot_class == snapshot_class["metadata"]["name"]
    secrets = [v for k, v in snapshot_class["parameters"].items() if k.endswith("secret-name")]
    secrets += [v for k, v in storage_class["parameters"].items() if k.endswith("secret-name")]
    assert set(secrets) == {"juicefs-secret"}
