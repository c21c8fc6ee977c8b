"""Checks on the Knative manifests that no schema can express (the webhooks would, on a
cluster we do not have in tests): annotation names and ranges, revision settings against
the cluster limits, routing integrity (every ref resolves, every published event type is
consumed, no reply can loop back into its producer) and what the local eventing stand-in
can route. Each check takes the parsed documents and returns human-readable problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

Doc = dict[str, Any]
KSVC = ("serving.knative.dev/v1", "Service")
DURATION = re.compile(r"^(\d+)(s|m|h)$")
ISO_SECONDS = re.compile(r"^PT(\d+(?:\.\d+)?)S$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
# Where a Service declares the event types it may return as a reply (comma separated).
REPLY_TYPES_ANNOTATION = "netclode.io/reply-types"


def _seconds(value: str) -> float | None:
    m = DURATION.match(value)
    return int(m[1]) * UNIT_SECONDS[m[2]] if m else None


def _int_in(lo: int, hi: int | None) -> Callable[[str], bool]:
    return lambda v: v.lstrip("-").isdigit() and lo <= int(v) and (hi is None or int(v) <= hi)


def _duration_in(lo: float, hi: float) -> Callable[[str], bool]:
    return lambda v: (s := _seconds(v)) is not None and lo <= s <= hi


def _float_above(lo: float) -> Callable[[str], bool]:
    return lambda v: re.fullmatch(r"\d+(\.\d+)?", v) is not None and float(v) > lo


# autoscaling.knative.dev annotations and their accepted values (knative-notes §1.1).
AUTOSCALING: dict[str, tuple[Callable[[str], bool], str]] = {
    "min-scale": (_int_in(0, None), "a whole number >= 0"),
    "max-scale": (_int_in(0, None), "a whole number >= 0 (0 = unlimited)"),
    "initial-scale": (_int_in(0, None), "a whole number >= 0"),
    "activation-scale": (_int_in(1, None), "a whole number >= 1"),
    "target": (_float_above(0), "a number > 0"),
    "target-utilization-percentage": (_int_in(1, 100), "a whole number in 1..100"),
    "target-burst-capacity": (_int_in(-1, None), "a whole number >= -1"),
    "scale-to-zero-pod-retention-period": (_duration_in(0, 86400), "a duration like 10m"),
    "scale-down-delay": (_duration_in(0, 3600), "a duration <= 1h"),
    "window": (_duration_in(6, 3600), "a duration in 6s..1h"),
    "panic-window-percentage": (_int_in(1, 100), "a whole number in 1..100"),
    "class": (
        lambda v: v in {"kpa.autoscaling.knative.dev", "hpa.autoscaling.knative.dev"},
        "kpa.autoscaling.knative.dev or hpa.autoscaling.knative.dev",
    ),
    "metric": (
        lambda v: v in {"concurrency", "rps", "cpu", "memory"},
        "concurrency|rps|cpu|memory",
    ),
}


def kind_of(doc: Doc) -> tuple[str, str]:
    return doc.get("apiVersion", ""), doc.get("kind", "")


def name_of(doc: Doc) -> str:
    return doc.get("metadata", {}).get("name", "")


def services(docs: Iterable[Doc]) -> dict[str, Doc]:
    return {name_of(d): d for d in docs if kind_of(d) == KSVC}


def triggers(docs: Iterable[Doc]) -> list[Doc]:
    return [d for d in docs if kind_of(d) == ("eventing.knative.dev/v1", "Trigger")]


def check_annotations(docs: list[Doc]) -> list[str]:
    """Every autoscaling annotation on a revision template is known and in range."""
    problems = []
    for name, svc in services(docs).items():
        if svc.get("metadata", {}).get("annotations", {}).keys() & {
            f"autoscaling.knative.dev/{k}" for k in AUTOSCALING
        }:
            problems.append(f"Service {name}: autoscaling annotations belong on spec.template")
        notes = svc["spec"]["template"].get("metadata", {}).get("annotations", {})
        for key, value in notes.items():
            group, _, short = key.partition("/")
            if group != "autoscaling.knative.dev":
                continue
            if short not in AUTOSCALING:
                problems.append(f"Service {name}: unknown annotation {key}")
            elif not isinstance(value, str) or not AUTOSCALING[short][0](value):
                problems.append(f"Service {name}: {key}={value!r} must be {AUTOSCALING[short][1]}")
        lo = notes.get("autoscaling.knative.dev/min-scale", "0")
        hi = notes.get("autoscaling.knative.dev/max-scale", "0")
        if lo.isdigit() and hi.isdigit() and int(hi) and int(lo) > int(hi):
            problems.append(f"Service {name}: min-scale {lo} exceeds max-scale {hi}")
    return problems


def check_revisions(docs: list[Doc], max_timeout_seconds: int) -> list[str]:
    """Revision settings the Knative webhook would refuse, and our one-image convention."""
    problems = []
    for name, svc in services(docs).items():
        spec = svc["spec"]["template"]["spec"]
        if not 0 <= spec.get("containerConcurrency", 0) <= 1000:
            problems.append(f"Service {name}: containerConcurrency must be in 0..1000")
        for key in ("timeoutSeconds", "responseStartTimeoutSeconds", "idleTimeoutSeconds"):
            if spec.get(key, 0) > max_timeout_seconds:
                problems.append(
                    f"Service {name}: {key} {spec[key]} exceeds max-revision-timeout-seconds "
                    f"{max_timeout_seconds}"
                )
        containers = spec.get("containers", [])
        ports = [p for c in containers for p in c.get("ports", [])]
        if len(ports) != 1:
            problems.append(f"Service {name}: exactly one container port, found {len(ports)}")
        problems += [
            f"Service {name}: port name {p['name']!r} must be http1 or h2c"
            for p in ports
            if p.get("name", "http1") not in {"http1", "h2c"}
        ]
        env = {e["name"] for c in containers for e in c.get("env", [])}
        missing = {"FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE"} - env
        if missing:
            problems.append(f"Service {name}: env lacks {', '.join(sorted(missing))}")
    return problems


def _service_ref(ref: dict[str, Any] | None) -> str | None:
    if ref and (ref.get("apiVersion"), ref.get("kind")) == KSVC:
        return ref.get("name")
    return None


def check_routing(docs: list[Doc]) -> list[str]:
    """Every Trigger is routable by the local stand-in, fully delivered, and resolves."""
    ksvcs = services(docs)
    brokers = {name_of(d) for d in docs if kind_of(d)[1] == "Broker"}
    problems = []
    for trig in triggers(docs):
        name, spec = name_of(trig), trig["spec"]
        if spec.get("broker") not in brokers:
            problems.append(f"Trigger {name}: broker {spec.get('broker')!r} does not exist")
        if "filters" in spec or not spec.get("filter", {}).get("attributes", {}).get("type"):
            problems.append(f"Trigger {name}: needs filter.attributes.type (exact match)")
        target = _service_ref(spec.get("subscriber", {}).get("ref"))
        if target not in ksvcs:
            problems.append(f"Trigger {name}: subscriber is not a Service in these manifests")
        delivery = spec.get("delivery", {})
        missing = {"retry", "backoffPolicy", "backoffDelay", "timeout", "deadLetterSink"} - set(
            delivery
        )
        if missing:
            problems.append(f"Trigger {name}: delivery lacks {', '.join(sorted(missing))}")
            continue
        if _service_ref(delivery["deadLetterSink"].get("ref")) not in ksvcs:
            problems.append(f"Trigger {name}: dead-letter sink is not a Service")
        timeout = ISO_SECONDS.match(delivery["timeout"])
        limit = (
            ksvcs[target]["spec"]["template"]["spec"].get("timeoutSeconds", 300)
            if (target in ksvcs)
            else 0
        )
        if not timeout or float(timeout[1]) < limit:
            problems.append(
                f"Trigger {name}: delivery.timeout {delivery['timeout']} is shorter than the "
                f"subscriber's timeoutSeconds {limit} (a slow attempt would be retried while "
                "it still runs)"
            )
    return problems


def consumed_types(docs: list[Doc]) -> set[str]:
    return {t["spec"]["filter"]["attributes"]["type"] for t in triggers(docs)}


def check_consumers(docs: list[Doc], published: Iterable[str]) -> list[str]:
    """Every event type the code publishes reaches at least one Trigger."""
    consumed = consumed_types(docs)
    return [
        f"event type {t} is published but no Trigger consumes it"
        for t in published
        if t not in consumed
    ]


def check_reply_loops(docs: list[Doc]) -> list[str]:
    """No chain of replies leads an event back to the Service that produced it.

    The Broker re-enqueues a 200 reply for every Trigger, so a Service whose reply type
    matches its own Trigger (directly or through other Services) would loop forever.
    """
    ksvcs = services(docs)
    subscribers: dict[str, set[str]] = {}
    for trig in triggers(docs):
        event_type = trig["spec"].get("filter", {}).get("attributes", {}).get("type")
        target = _service_ref(trig["spec"].get("subscriber", {}).get("ref"))
        if event_type and target:
            subscribers.setdefault(event_type, set()).add(target)

    def replies(svc: str) -> set[str]:
        raw = ksvcs.get(svc, {}).get("metadata", {}).get("annotations", {})
        return {t.strip() for t in raw.get(REPLY_TYPES_ANNOTATION, "").split(",") if t.strip()}

    problems = []
    for start in sorted(ksvcs):
        seen, frontier = set(), {start}
        while frontier:
            reached = {s for svc in frontier for t in replies(svc) for s in subscribers.get(t, ())}
            if start in reached:
                problems.append(f"Service {start}: its replies can route back to itself")
                break
            frontier = reached - seen
            seen |= reached
    return problems
