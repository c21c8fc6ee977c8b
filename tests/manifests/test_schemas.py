"""Every manifest under knative/ (and every kustomize build of it) matches its real schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.manifests.conftest import BASE, KNATIVE, documents, kustomize, with_components
from tests.support.manifests import ManifestError, load_documents, validate_manifest

FIXTURES = Path(__file__).parent / "fixtures"
TYPO_DOCS = list(load_documents(FIXTURES / "typos.yaml"))


def _ids(docs: list[dict]) -> list[str]:
    return [f"{d['kind']}/{d['metadata']['name']}" for d in docs]


ALL_DOCS = documents(KNATIVE)


@pytest.mark.parametrize("doc", ALL_DOCS, ids=_ids(ALL_DOCS))
def test_every_manifest_document_is_valid(doc: dict) -> None:
    validate_manifest(doc)


@pytest.mark.parametrize("doc", TYPO_DOCS, ids=_ids(TYPO_DOCS))
def test_a_misspelled_field_fails(doc: dict) -> None:
    """Each fixture document is named after its misspelled key; the error must point at it."""
    with pytest.raises(ManifestError) as caught:
        validate_manifest(doc)
    _, _, detail = str(caught.value).partition(": ")
    assert doc["metadata"]["name"] in detail.lower()


def test_the_typo_fixture_covers_every_kind_we_ship() -> None:
    shipped = {(d["apiVersion"], d["kind"]) for d in ALL_DOCS}
    covered = {(d["apiVersion"], d["kind"]) for d in TYPO_DOCS}
    assert shipped <= covered


def test_unknown_kinds_fail() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    with pytest.raises(ManifestError, match=r"no schema for example\.com/v1 Gadget"):
        validate_manifest(doc)


def test_a_malformed_delivery_timeout_fails() -> None:
    trigger = next(d for d in documents(BASE) if d["kind"] == "Trigger")
    trigger["spec"]["delivery"]["timeout"] = "240s"
    with pytest.raises(ManifestError, match="ISO 8601"):
        validate_manifest(trigger)


@pytest.mark.parametrize("components", [[], ["gpu"], ["tailscale"], ["gpu", "tailscale"]])
def test_kustomize_builds_are_valid(tmp_path: Path, components: list[str]) -> None:
    built = kustomize(with_components(tmp_path, components))
    for doc in built:
        validate_manifest(doc)
    namespaced = [
        d
        for d in built
        if d["kind"] not in {"Namespace", "RuntimeClass", "StorageClass", "VolumeSnapshotClass"}
    ]
    assert all(d["metadata"].get("namespace") for d in namespaced)
    kinds = {d["kind"] for d in built}
    assert ("Deployment" in kinds and any(d["metadata"]["name"] == "ollama" for d in built)) == (
        "gpu" in components
    )
    assert ("Ingress" in kinds) == ("tailscale" in components)


def test_production_gives_every_function_the_shared_config(tmp_path: Path) -> None:
    built = kustomize(with_components(tmp_path, []))
    ksvcs = [d for d in built if d["apiVersion"] == "serving.knative.dev/v1"]
    assert len(ksvcs) == 6
    for svc in ksvcs:
        env_from = svc["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": "netclode-config"}} in env_from
    config = next(
        d for d in built if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "netclode-config"
    )
    assert config["data"]["NETCLODE_SANDBOX_DRIVER"] == "kubernetes"
