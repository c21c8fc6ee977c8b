"""Schema validation of Kubernetes manifests, shared by the manifest, driver and Ansible tests.

Built-in kinds are checked by kubernetes-validate against the newest schemas it ships, in
strict mode (unknown fields fail). Knative kinds have no schema there, so they are checked
with the cloudcoil CRD models with extra fields forbidden; the CSI snapshot kinds
(external-snapshotter's CRDs, snapshot.storage.k8s.io/v1), k3s's HelmChart and Knative's
ClusterDomainClaim with the strict models below.
Any other kind is an error: a manifest nobody can validate is a manifest nobody has checked.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import kubernetes_validate
import pydantic
import yaml

with warnings.catch_warnings():
    # The eventing models warn that a field shadows a pydantic attribute; harmless.
    warnings.simplefilter("ignore", UserWarning)
    from cloudcoil.models.knative_eventing.eventing.v1 import Broker, Trigger
    from cloudcoil.models.knative_eventing.sources.v1 import PingSource
    from cloudcoil.models.knative_serving.serving.v1 import Configuration, Revision, Route, Service
    from cloudcoil.models.knative_serving.serving.v1beta1 import DomainMapping

KUBERNETES_VERSION = kubernetes_validate.latest_version()

KNATIVE_MODELS: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    ("serving.knative.dev/v1", "Service"): Service,
    ("serving.knative.dev/v1", "Revision"): Revision,
    ("serving.knative.dev/v1", "Configuration"): Configuration,
    ("serving.knative.dev/v1", "Route"): Route,
    ("serving.knative.dev/v1beta1", "DomainMapping"): DomainMapping,
    ("eventing.knative.dev/v1", "Broker"): Broker,
    ("eventing.knative.dev/v1", "Trigger"): Trigger,
    ("sources.knative.dev/v1", "PingSource"): PingSource,
}


# Knative fields the cloudcoil models (generated from Knative 1.17) lack although the CRDs
# accept them: DeliverySpec.timeout (eventing pkg/apis/duck/v1/delivery_types.go, feature
# `delivery-timeout`, on by default). Checked here for shape, then removed before the model
# check so every other field still meets extra="forbid".
MODEL_GAPS: dict[str, list[tuple[str, ...]]] = {
    "Trigger": [("spec", "delivery", "timeout")],
    "Broker": [("spec", "delivery", "timeout")],
}
ISO_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class _Meta(_Strict):
    name: str = pydantic.Field(pattern=DNS_SUBDOMAIN, max_length=253)
    namespace: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class VolumeSnapshotClass(_Strict):
    """external-snapshotter v8 CRD: driver and deletionPolicy are required."""

    apiVersion: Literal["snapshot.storage.k8s.io/v1"]
    kind: Literal["VolumeSnapshotClass"]
    metadata: _Meta
    driver: str = pydantic.Field(min_length=1)
    deletionPolicy: Literal["Delete", "Retain"]
    parameters: dict[str, str] = {}


class _SnapshotSource(_Strict):
    persistentVolumeClaimName: str | None = None
    volumeSnapshotContentName: str | None = None

    @pydantic.model_validator(mode="after")
    def _exactly_one(self) -> _SnapshotSource:
        if (self.persistentVolumeClaimName is None) == (self.volumeSnapshotContentName is None):
            raise ValueError(
                "source needs exactly one of persistentVolumeClaimName, volumeSnapshotContentName"
            )
        return self


class _SnapshotSpec(_Strict):
    source: _SnapshotSource
    volumeSnapshotClassName: str | None = None


class VolumeSnapshot(_Strict):
    apiVersion: Literal["snapshot.storage.k8s.io/v1"]
    kind: Literal["VolumeSnapshot"]
    metadata: _Meta
    spec: _SnapshotSpec


SNAPSHOT_MODELS: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"): VolumeSnapshotClass,
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"): VolumeSnapshot,
}


class _HelmChartSpec(_Strict):
    """k3s helm-controller's HelmChart (helm.cattle.io/v1), the fields its CRD defines."""

    chart: str = pydantic.Field(min_length=1)
    repo: str | None = None
    version: str | None = None
    targetNamespace: str | None = None
    createNamespace: bool | None = None
    valuesContent: str | None = None
    set: dict[str, str | int | bool] = {}
    helmVersion: str | None = None
    jobImage: str | None = None
    timeout: str | None = None
    failurePolicy: Literal["abort", "reinstall"] | None = None
    bootstrap: bool | None = None
    backOffLimit: int | None = None
    authSecret: dict[str, str] | None = None
    repoCA: str | None = None

    @pydantic.field_validator("valuesContent")
    @classmethod
    def _values_are_a_yaml_mapping(cls, value: str | None) -> str | None:
        if value is not None and not isinstance(yaml.safe_load(value) or {}, dict):
            raise ValueError("valuesContent must be a YAML mapping")
        return value


class HelmChart(_Strict):
    apiVersion: Literal["helm.cattle.io/v1"]
    kind: Literal["HelmChart"]
    metadata: _Meta
    spec: _HelmChartSpec


class _ClaimSpec(_Strict):
    namespace: str = pydantic.Field(min_length=1)


class ClusterDomainClaim(_Strict):
    """Knative's claim of a domain name for one namespace's DomainMappings (cluster-scoped)."""

    apiVersion: Literal["networking.internal.knative.dev/v1alpha1"]
    kind: Literal["ClusterDomainClaim"]
    metadata: _Meta
    spec: _ClaimSpec


ADDON_MODELS: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    ("helm.cattle.io/v1", "HelmChart"): HelmChart,
    ("networking.internal.knative.dev/v1alpha1", "ClusterDomainClaim"): ClusterDomainClaim,
}


class ManifestError(ValueError):
    """A document that does not match its kind's schema (or has no known schema)."""


def _without_model_gaps(doc: dict[str, Any], name: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for *parents, leaf in MODEL_GAPS.get(doc.get("kind", ""), []):
        node: Any = doc
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            value = node.pop(leaf)
            if not isinstance(value, str) or not ISO_DURATION.match(value):
                where = ".".join([*parents, leaf])
                raise ManifestError(f"{name}: {where} must be an ISO 8601 duration, got {value!r}")
    return doc


def validate_manifest(doc: dict[str, Any]) -> None:
    """Raises ManifestError naming the document and the first problem found."""
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    name = f"{kind or '?'} {doc.get('metadata', {}).get('name', '?')}"
    strict = SNAPSHOT_MODELS.get((api_version, kind)) or ADDON_MODELS.get((api_version, kind))
    if strict is not None:
        try:
            strict.model_validate(doc)
        except pydantic.ValidationError as exc:
            raise ManifestError(f"{name}: {exc}") from exc
        return
    model = KNATIVE_MODELS.get((api_version, kind))
    if model is not None:
        try:
            model.model_validate(_without_model_gaps(doc, name), extra="forbid")
        except pydantic.ValidationError as exc:
            raise ManifestError(f"{name}: {exc}") from exc
        return
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise ManifestError(f"{name}: no schema for {api_version} {kind}") from exc
    except kubernetes_validate.ValidationError as exc:
        raise ManifestError(f"{name}: {exc.message} at {list(exc.path)}") from exc


def load_documents(path: Path) -> Iterator[dict[str, Any]]:
    """Every non-empty YAML document in a file."""
    with path.open() as f:
        yield from (doc for doc in yaml.safe_load_all(f) if doc)


def is_kubernetes_object(doc: dict[str, Any]) -> bool:
    """False for kustomize's own files, which live beside the manifests."""
    return not doc.get("apiVersion", "").startswith("kustomize.config.k8s.io/")
