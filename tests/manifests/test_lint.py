"""Our own Knative lint on knative/base, and proof that each rule catches its mistake."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netclode.eventing import types
from tests.manifests.conftest import KNATIVE
from tests.support import knative_lint as lint
from tests.support.manifests import load_documents

Docs = list[dict[str, Any]]


def max_revision_timeout() -> int:
    (defaults,) = load_documents(KNATIVE / "cluster" / "config-defaults.yaml")
    return int(defaults["data"]["max-revision-timeout-seconds"])


def ksvc(docs: Docs, name: str) -> dict[str, Any]:
    return lint.services(docs)[name]


def trigger(docs: Docs, name: str) -> dict[str, Any]:
    return next(t for t in lint.triggers(docs) if lint.name_of(t) == name)


@pytest.fixture
def docs(base_docs: Docs) -> Docs:
    return copy.deepcopy(base_docs)


def test_base_manifests_pass_every_rule(docs: Docs) -> None:
    assert lint.check_annotations(docs) == []
    assert lint.check_revisions(docs, max_revision_timeout()) == []
    assert lint.check_routing(docs) == []
    assert lint.check_reply_loops(docs) == []


def test_every_published_event_type_has_a_consumer(docs: Docs) -> None:
    assert types.PUBLISHED
    assert lint.check_consumers(docs, types.PUBLISHED) == []


def test_roles_get_the_settings_the_design_asks_for(docs: Docs) -> None:
    def notes(name: str) -> dict[str, str]:
        return ksvc(docs, name)["spec"]["template"]["metadata"]["annotations"]

    assert notes("webhook")["autoscaling.knative.dev/min-scale"] == "1"
    # Sandboxes reach ingest's pods directly, never through the activator (network trust,
    # test_network_trust.py), so one pod must always be there to answer them.
    assert notes("ingest")["autoscaling.knative.dev/min-scale"] == "1"
    for name in ("api", "pool", "bot", "deadletter"):
        assert notes(name)["autoscaling.knative.dev/min-scale"] == "0"
        assert "autoscaling.knative.dev/scale-to-zero-pod-retention-period" in notes(name)
    pool = ksvc(docs, "pool")["spec"]["template"]["spec"]
    assert notes("pool")["autoscaling.knative.dev/max-scale"] == "1"
    assert pool["containerConcurrency"] == 1
    assert (
        ksvc(docs, "api")["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] == "h2c"
    )


def test_bot_triggers_route_github_and_turn_events(docs: Docs) -> None:
    """The bot needs these four; it may subscribe to more (e.g. its own sweep tick)."""
    bot_types = {
        t["spec"]["filter"]["attributes"]["type"]
        for t in lint.triggers(docs)
        if t["spec"]["subscriber"]["ref"]["name"] == "bot"
    }
    assert bot_types >= {
        "dev.knative.source.github.issue_comment",
        "dev.knative.source.github.pull_request_review_comment",
        "dev.knative.source.github.pull_request",
        types.SESSION_TURN_COMPLETED,
    }


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("autoscaling.knative.dev/min-scael", "1", "unknown annotation"),
        ("autoscaling.knative.dev/min-scale", "-1", "must be a whole number >= 0"),
        ("autoscaling.knative.dev/window", "2s", "6s..1h"),
        ("autoscaling.knative.dev/scale-down-delay", "2h", "<= 1h"),
        ("autoscaling.knative.dev/scale-to-zero-pod-retention-period", "ten", "duration"),
        ("autoscaling.knative.dev/target", "0", "> 0"),
        ("autoscaling.knative.dev/min-scale", "9", "exceeds max-scale"),
    ],
)
def test_bad_annotations_are_caught(docs: Docs, key: str, value: str, problem: str) -> None:
    ksvc(docs, "api")["spec"]["template"]["metadata"]["annotations"][key] = value
    (found,) = lint.check_annotations(docs)
    assert found.startswith("Service api:") and problem in found


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("timeoutSeconds", 7200, "exceeds max-revision-timeout-seconds"),
        ("containerConcurrency", 5000, "0..1000"),
    ],
)
def test_bad_revision_settings_are_caught(docs: Docs, field: str, value: int, problem: str) -> None:
    ksvc(docs, "ingest")["spec"]["template"]["spec"][field] = value
    (found,) = lint.check_revisions(docs, max_revision_timeout())
    assert problem in found


def test_a_port_name_knative_ignores_is_caught(docs: Docs) -> None:
    ksvc(docs, "api")["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = "grpc"
    assert lint.check_revisions(docs, max_revision_timeout()) == [
        "Service api: port name 'grpc' must be http1 or h2c"
    ]


def test_a_trigger_to_a_missing_service_is_caught(docs: Docs) -> None:
    trigger(docs, "bot-on-pull-request")["spec"]["subscriber"]["ref"]["name"] = "robot"
    assert lint.check_routing(docs) == [
        "Trigger bot-on-pull-request: subscriber is not a Service in these manifests"
    ]


def test_a_missing_dead_letter_sink_is_caught(docs: Docs) -> None:
    del trigger(docs, "pool-on-tick")["spec"]["delivery"]["deadLetterSink"]
    assert lint.check_routing(docs) == ["Trigger pool-on-tick: delivery lacks deadLetterSink"]


def test_a_delivery_timeout_shorter_than_the_subscriber_is_caught(docs: Docs) -> None:
    trigger(docs, "bot-on-turn-completed")["spec"]["delivery"]["timeout"] = "PT10S"
    (found,) = lint.check_routing(docs)
    assert "shorter than the subscriber's timeoutSeconds 120" in found


def test_filters_the_local_stand_in_cannot_route_are_caught(docs: Docs) -> None:
    spec = trigger(docs, "pool-on-tick")["spec"]
    spec["filters"] = [{"prefix": {"type": "dev.knative."}}]
    assert lint.check_routing(docs) == [
        "Trigger pool-on-tick: needs filter.attributes.type (exact match)"
    ]


def test_an_unconsumed_published_type_is_caught(docs: Docs) -> None:
    assert lint.check_consumers(docs, ["io.netclode.session.deleted"]) == [
        "event type io.netclode.session.deleted is published but no Trigger consumes it"
    ]


def test_a_reply_into_its_own_trigger_is_caught(docs: Docs) -> None:
    ksvc(docs, "pool")["metadata"]["annotations"] = {
        lint.REPLY_TYPES_ANNOTATION: types.SESSION_CREATED
    }
    assert lint.check_reply_loops(docs) == ["Service pool: its replies can route back to itself"]


def test_a_reply_loop_through_another_service_is_caught(docs: Docs) -> None:
    ksvc(docs, "bot")["metadata"]["annotations"] = {
        lint.REPLY_TYPES_ANNOTATION: types.SESSION_CREATED
    }
    ksvc(docs, "pool")["metadata"]["annotations"] = {
        lint.REPLY_TYPES_ANNOTATION: types.SESSION_TURN_COMPLETED
    }
    assert lint.check_reply_loops(docs) == [
        "Service bot: its replies can route back to itself",
        "Service pool: its replies can route back to itself",
    ]


def test_a_reply_with_no_loop_is_fine(docs: Docs) -> None:
    ksvc(docs, "bot")["metadata"]["annotations"] = {
        lint.REPLY_TYPES_ANNOTATION: types.SESSION_CREATED
    }
    assert lint.check_reply_loops(docs) == []
