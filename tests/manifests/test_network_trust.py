"""Network-level trust, checked on the manifests: the Broker-fed event consumers take
deliveries without a credential (Knative without sender identity), so nothing a session runs
may reach them, directly or through Knative's shared data plane (activator, Kourier), while
Knative itself and the sandboxes' own paths stay open.

The pods are the ones knative/ declares (Knative Services, Deployments, StatefulSets), the
kubernetes driver's sandbox pod, and Knative's data-plane pods with the labels of their
release manifests. No CNI runs here: tests/support/netpol.py applies the documented
NetworkPolicy rules. Each fixture under fixtures/network-trust replaces or adds documents
and names, on its first line, the violation it must cause.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from netclode.drivers.kube_manifests import APP, LABEL_APP
from tests.manifests.conftest import BASE, KNATIVE, documents
from tests.support.netpol import Pod, reachable

FIXTURES = Path(__file__).parent / "fixtures" / "network-trust"
VISIBILITY = "networking.knative.dev/visibility"
# Knative's data plane (knative-serving and net-kourier release manifests).
ACTIVATOR = ("activator", "knative-serving", {"app": "activator"})
AUTOSCALER = ("autoscaler", "knative-serving", {"app": "autoscaler"})
GATEWAY = ("kourier-gateway", "kourier-system", {"app": "3scale-kourier-gateway"})
BROKER_INGRESS = (
    "broker-ingress",
    "knative-eventing",
    {"eventing.knative.dev/brokerRole": "ingress"},
)
BROKER_FILTER = ("broker-filter", "knative-eventing", {"eventing.knative.dev/brokerRole": "filter"})
SANDBOX = (
    "netclode-sandbox",
    "netclode",
    {LABEL_APP: APP, "app.kubernetes.io/part-of": "netclode"},
)
# What a sandbox or something it drives may never open: queue-proxy (8012, 8022, 9090,
# 9091), the activator (8012, 8013), Kourier (8080, 8081, 8443), the Broker ingress (8080).
DATA_PLANE_PORTS = (8012, 8013, 8022, 8080, 8081, 8443, 9090, 9091)
UNTRUSTED = ("netclode-sandbox", "secret-proxy", "ollama")


def shipped() -> list[dict[str, Any]]:
    return documents(BASE) + documents(KNATIVE / "overlays" / "gpu")


def world(docs: list[dict[str, Any]]) -> dict[str, Pod]:
    """Every pod that matters, by name, with made-up pod-network addresses."""
    declared = [ACTIVATOR, AUTOSCALER, GATEWAY, BROKER_INGRESS, BROKER_FILTER, SANDBOX]
    for doc in docs:
        name, ns = doc["metadata"]["name"], doc["metadata"].get("namespace", "netclode")
        if doc["apiVersion"] == "serving.knative.dev/v1" and doc["kind"] == "Service":
            labels = doc["spec"]["template"].get("metadata", {}).get("labels", {})
            declared.append((name, ns, {**labels, "serving.knative.dev/service": name}))
        elif doc["kind"] in ("Deployment", "StatefulSet"):
            declared.append((name, ns, doc["spec"]["template"]["metadata"]["labels"]))
    network = ipaddress.ip_network("10.42.0.0/16")
    return {
        name: Pod(name, ns, labels, str(network[i + 10]))
        for i, (name, ns, labels) in enumerate(declared)
    }


def consumers(docs: list[dict[str, Any]]) -> set[str]:
    """Knative Services the Broker delivers to: Trigger subscribers and dead-letter sinks."""
    names = set()
    for doc in docs:
        if doc["kind"] not in ("Trigger", "Broker"):
            continue
        spec = doc["spec"]
        for dest in (spec.get("subscriber"), (spec.get("delivery") or {}).get("deadLetterSink")):
            if dest and dest.get("ref", {}).get("kind") == "Service":
                names.add(dest["ref"]["name"])
    return names


def trust_violations(docs: list[dict[str, Any]]) -> list[str]:
    pods = world(docs)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    services = {
        d["metadata"]["name"]: d for d in docs if d["apiVersion"] == "serving.knative.dev/v1"
    }
    found = []
    for name in sorted(consumers(docs)):
        if services[name]["metadata"].get("labels", {}).get(VISIBILITY) != "cluster-local":
            found.append(f"{name} is not cluster-local")
        callers = {p for p in pods if reachable(policies, pods[p], pods[name], 8012)} - {name}
        if callers != {"activator", "kourier-gateway"}:
            found.append(f"{name} is reached directly by {sorted(callers)}")
    targets = [*sorted(consumers(docs)), "activator", "kourier-gateway", "broker-ingress"]
    for src in (u for u in UNTRUSTED if u in pods):
        found += [
            f"{src} reaches {dst}:{port}"
            for dst in targets
            for port in DATA_PLANE_PORTS
            if reachable(policies, pods[src], pods[dst], port)
        ]
    needed = [("netclode-sandbox", "ingest", 8012), ("netclode-sandbox", "secret-proxy", 8080)]
    needed += [
        (knative, c, 8012) for c in consumers(docs) for knative in ("activator", "kourier-gateway")
    ]
    needed += [("autoscaler", c, 9090) for c in consumers(docs)]
    found += [
        f"{src} cannot reach {dst}:{port}"
        for src, dst, port in needed
        if not reachable(policies, pods[src], pods[dst], port)
    ]
    return found


def with_fixture(docs: list[dict[str, Any]], fixture: Path) -> list[dict[str, Any]]:
    """`docs` with the fixture's documents replacing those of the same kind and name."""
    patch = [d for d in yaml.safe_load_all(fixture.read_text()) if d]
    replaced = {(d["kind"], d["metadata"]["name"]) for d in patch}
    kept = [d for d in docs if (d["kind"], d["metadata"]["name"]) not in replaced]
    return kept + patch


def test_nothing_untrusted_reaches_the_event_consumers() -> None:
    docs = shipped()
    assert consumers(docs) == {"pool", "bot", "deadletter"}
    assert trust_violations(docs) == []


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_seeded_mistake_is_caught(fixture: Path) -> None:
    expected = fixture.read_text().splitlines()[0].removeprefix("# expect: ")
    found = trust_violations(with_fixture(shipped(), fixture))
    assert expected in found, found
