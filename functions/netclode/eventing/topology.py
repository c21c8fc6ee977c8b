"""The routing topology declared in knative/: Services, Triggers, Brokers, PingSources.

The local stand-in routes from exactly what the cluster would apply, so these manifests are
the single source of truth for which function hears which event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

SERVICE = ("serving.knative.dev/v1", "Service")
BROKER = ("eventing.knative.dev/v1", "Broker")
TRIGGER = ("eventing.knative.dev/v1", "Trigger")
PING_SOURCE = ("sources.knative.dev/v1", "PingSource")

ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """ISO 8601 duration (as Knative delivery specs use) in seconds."""
    match = ISO_DURATION.match(text or "")
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0)
    ).total_seconds() + parts.get("s", 0)


@dataclass(frozen=True)
class Delivery:
    retry: int = 0
    backoff_policy: str = "exponential"
    # Knative waits only when both backoffPolicy and backoffDelay are set (else 0).
    backoff_delay_s: float = 0.0
    timeout_s: float = 30.0
    dead_letter_service: str | None = None

    def delay(self, retry: int) -> float:
        """The wait before retry `retry`, counted from 0 for the first retry.

        knative/eventing pkg/kncloudevents/retries.go computes backoffDelay * 2^n
        (exponential) or backoffDelay * n (linear), and go-retryablehttp passes n = 0 before
        the first retry: exponential waits delay, 2·delay, 4·delay…; linear 0, delay, 2·delay…
        """
        if self.backoff_policy == "linear":
            return self.backoff_delay_s * retry
        return self.backoff_delay_s * 2**retry


@dataclass(frozen=True)
class FunctionService:
    name: str
    env: dict[str, str]
    annotations: dict[str, str]
    # Knative's containerConcurrency: 0 means unlimited.
    concurrency: int = 0


@dataclass(frozen=True)
class Trigger:
    name: str
    namespace: str
    broker: str
    filters: dict[str, str]
    subscriber: str
    delivery: Delivery

    def matches(self, attributes: dict[str, Any]) -> bool:
        return all(str(attributes.get(k, "")) == v for k, v in self.filters.items())


@dataclass(frozen=True)
class PingSource:
    name: str
    schedule: str
    data: str
    content_type: str
    broker: str
    namespace: str


@dataclass
class Topology:
    services: dict[str, FunctionService] = field(default_factory=dict)
    brokers: dict[str, Delivery] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    ping_sources: list[PingSource] = field(default_factory=list)

    def triggers_for(self, broker: str, attributes: dict[str, Any]) -> list[Trigger]:
        return [t for t in self.triggers if t.broker == broker and t.matches(attributes)]


def load(root: Path) -> Topology:
    """Reads every YAML document under `root` (kustomization files and other kinds skipped)."""
    docs: list[dict[str, Any]] = []
    for path in sorted(root.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
    topology = Topology()
    for doc in docs:
        kind = (doc.get("apiVersion"), doc.get("kind"))
        if kind == BROKER:
            topology.brokers[doc["metadata"]["name"]] = _delivery(doc["spec"].get("delivery"))
    for doc in docs:
        kind = (doc.get("apiVersion"), doc.get("kind"))
        if kind == SERVICE:
            topology.services[doc["metadata"]["name"]] = _service(doc)
        elif kind == TRIGGER:
            topology.triggers.append(_trigger(doc, topology.brokers))
        elif kind == PING_SOURCE:
            topology.ping_sources.append(_ping_source(doc))
    return topology


def _service(doc: dict) -> FunctionService:
    template = doc["spec"]["template"]
    container = template["spec"]["containers"][0]
    env = {e["name"]: str(e.get("value", "")) for e in container.get("env", []) if "value" in e}
    annotations = template.get("metadata", {}).get("annotations", {})
    concurrency = int(template["spec"].get("containerConcurrency", 0))
    return FunctionService(doc["metadata"]["name"], env, annotations, concurrency)


def _ref_service(destination: dict | None) -> str | None:
    if not destination:
        return None
    ref = destination.get("ref") or {}
    if ref.get("kind") == "Service":
        return ref["name"]
    return None


def _delivery(spec: dict | None, fallback: Delivery | None = None) -> Delivery:
    base = fallback or Delivery()
    if not spec:
        return base
    return Delivery(
        retry=int(spec.get("retry", base.retry)),
        backoff_policy=spec.get("backoffPolicy", base.backoff_policy),
        backoff_delay_s=parse_duration(spec["backoffDelay"])
        if "backoffDelay" in spec
        else base.backoff_delay_s,
        timeout_s=parse_duration(spec["timeout"]) if "timeout" in spec else base.timeout_s,
        dead_letter_service=_ref_service(spec.get("deadLetterSink")) or base.dead_letter_service,
    )


def _trigger(doc: dict, brokers: dict[str, Delivery]) -> Trigger:
    spec = doc["spec"]
    broker = spec.get("broker", "default")
    subscriber = _ref_service(spec["subscriber"])
    if subscriber is None:
        raise ValueError(f"Trigger {doc['metadata']['name']}: subscriber must reference a Service")
    return Trigger(
        name=doc["metadata"]["name"],
        namespace=doc["metadata"].get("namespace", "default"),
        broker=broker,
        filters=dict((spec.get("filter") or {}).get("attributes") or {}),
        subscriber=subscriber,
        delivery=_delivery(spec.get("delivery"), brokers.get(broker)),
    )


def _ping_source(doc: dict) -> PingSource:
    """A PingSource feeding a Broker: the only sink the stand-in (and Netclode) uses, so every
    tick reaches its functions through Triggers and their delivery specs."""
    spec = doc["spec"]
    ref = (spec.get("sink") or {}).get("ref") or {}
    if ref.get("kind") != "Broker":
        raise ValueError(f"PingSource {doc['metadata']['name']}: sink must reference a Broker")
    return PingSource(
        name=doc["metadata"]["name"],
        schedule=spec["schedule"],
        data=spec.get("data", ""),
        content_type=spec.get("contentType", "application/json"),
        broker=ref["name"],
        namespace=doc["metadata"].get("namespace", "default"),
    )
