"""Operator views: `netclode ops revisions` rendered from Knative objects served by kmock
(through a real kubeconfig), and the OpsService readers over real Valkey."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from kubernetes import client

from netclode.config import Settings
from netclode.functions.ops import dead_letters, pool_status
from netclode_cli.commands.ops import ops
from netclode_cli.commands.shared import App
from netclode_protocol import keys
from tests.kubernetes.conftest import NAMESPACE, Emulator
from tests.manifests.test_cluster_smoke import smoke


def knative_service(name: str, status: dict) -> dict:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"template": {"spec": {"containers": [{"image": "netclode-functions"}]}}},
        "status": status,
    }


def revision(name: str, ready: str, reason: str = "") -> dict:
    cond = {"type": "Ready", "status": ready, "reason": reason}
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"containers": [{"image": "netclode-functions"}]},
        "status": {"conditions": [cond]},
    }


@pytest.fixture
def kubeconfig(kube_api: Emulator, tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": kube_api.url}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "netclode", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "netclode",
            }
        )
    )
    return str(path)


@pytest.fixture
def knative_objects(kube_api: Emulator) -> None:
    objects = client.CustomObjectsApi(kube_api.api)
    api_status = {
        "latestReadyRevisionName": "api-00002",
        "latestCreatedRevisionName": "api-00002",
        "traffic": [
            {"revisionName": "api-00002", "percent": 90},
            {"revisionName": "api-00001", "percent": 10, "tag": "previous"},
        ],
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    bot_status = {
        "latestReadyRevisionName": "bot-00001",
        "latestCreatedRevisionName": "bot-00002",
        "traffic": [{"revisionName": "bot-00001", "percent": 100}],
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "image"}
        ],
    }
    bodies = {
        "services": [knative_service("api", api_status), knative_service("bot", bot_status)],
        "revisions": [
            revision("api-00001", "True"),
            revision("api-00002", "True"),
            revision("bot-00001", "True"),
            revision("bot-00002", "False", "ImagePullBackOff"),
        ],
    }
    for plural, docs in bodies.items():
        for doc in docs:
            objects.create_namespaced_custom_object(
                "serving.knative.dev", "v1", NAMESPACE, plural, doc, _preload_content=False
            )


def run_ops(*args: str, as_json: bool = False) -> str:
    result = CliRunner().invoke(ops, list(args), obj=App(url=None, json=as_json))
    assert result.exit_code == 0, result.output
    return result.output


def test_revisions_shows_latest_ready_traffic_and_readiness(kubeconfig, knative_objects) -> None:
    out = run_ops("revisions", "--kubeconfig", kubeconfig)
    words = out.split()
    assert words[:4] == ["SERVICE", "LATEST", "READY", "TRAFFIC"]
    for piece in ("api-00002", "90%,", "api-00001", "10%", "(previous)", "bot-00001", "100%"):
        assert piece in words
    for piece in ("no:", "RevisionFailed", "(rolling", "bot-00002)"):
        assert piece in words
    assert out.index("api") < out.index("bot")


def test_revisions_json_carries_each_traffic_revisions_condition(
    kubeconfig, knative_objects
) -> None:
    rows = json.loads(run_ops("revisions", "--kubeconfig", kubeconfig, as_json=True))
    assert [r["service"] for r in rows] == ["api", "bot"]
    assert rows[1]["latest_created"] == "bot-00002"
    assert rows[0]["traffic"][1] == {
        "revision": "api-00001",
        "percent": 10,
        "tag": "previous",
        "ready": {"status": "True", "reason": "", "message": ""},
    }


def test_revisions_with_no_services_says_so(kubeconfig) -> None:
    assert "no Knative Services in namespace netclode" in run_ops(
        "revisions", "--kubeconfig", kubeconfig
    )


def test_revisions_with_a_missing_context_is_a_one_line_error(kubeconfig) -> None:
    result = CliRunner().invoke(
        ops,
        ["revisions", "--kubeconfig", kubeconfig, "--context", "elsewhere"],
        obj=App(None, False),
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot use kubeconfig context 'elsewhere'")
    assert "Traceback" not in result.output


def test_pool_status_counts_ready_and_claimed(redis_client: redis.Redis) -> None:
    for sandbox_id, state, session, at in [
        ("a", "ready", "", 1000),
        ("b", "claimed", "s1", 2000),
        ("c", "starting", "", 3000),
    ]:
        redis_client.zadd(keys.POOL_SANDBOXES, {sandbox_id: at})
        redis_client.hset(
            keys.sandbox(sandbox_id),
            mapping={"state": state, "session": session, "created_at": str(at)},
        )
    redis_client.lpush(keys.POOL_READY, "a")
    status = pool_status(Settings(pool_size=3), redis_client)
    assert (status.target_size, status.ready, status.claimed) == (3, 1, 1)
    assert [(s.id, s.state, s.session_id) for s in status.sandboxes] == [
        ("a", "ready", ""),
        ("b", "claimed", "s1"),
        ("c", "starting", ""),
    ]
    assert status.sandboxes[1].created_at.ToMilliseconds() == 2000


def test_dead_letters_newest_first_and_limited(redis_client: redis.Redis) -> None:
    for i in range(5):
        redis_client.xadd(
            keys.DEAD_LETTERS,
            {
                "time": str(1000 + i),
                "type": "io.netclode.session.created",
                "source": "netclode/control-plane",
                "id": f"e{i}",
                "subscriber": "http://pool.netclode.svc.cluster.local",
                "error": "HTTP 500 boom",
            },
        )
    letters = dead_letters(redis_client, 3)
    assert [d.event_id for d in letters] == ["e4", "e3", "e2"]
    assert letters[0].error == "HTTP 500 boom" and letters[0].time.ToMilliseconds() == 1004
    assert len(dead_letters(redis_client, 0)) == 5


def test_cluster_smoke_names_the_functions_revisions_misses(kubeconfig, knative_objects) -> None:
    """scripts/cluster-smoke.sh reads the real `netclode --json ops revisions` output."""
    rows = run_ops("revisions", "--kubeconfig", kubeconfig, as_json=True)
    result = smoke("parse", "missing-functions", "api", "bot", "pool", stdin=rows)
    assert result.returncode == 1
    assert result.stdout.split("\n")[:2] == ["pool: not listed", "bot: not Ready"]
    complete = smoke("parse", "missing-functions", "api", stdin=rows)
    assert (complete.returncode, complete.stdout.strip()) == (0, "")
