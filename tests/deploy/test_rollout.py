"""`make rollout-*` against the shipped objects: each patch applies (real `kubectl patch
--local`) and sets the image of the requested tag; the warm pool drain runs its script on a
real Valkey. The stand-in kubectl (kubectl_standin.py) plays the API server's part."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.manifests.conftest import kustomize, with_components

REPO = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).parent / "kubectl_standin.py"
TAG = "0123456789ab"
REGISTRY = "registry.invalid/netclode"


def _key(doc: dict[str, Any]) -> str | None:
    if doc["kind"] == "Service" and not doc["apiVersion"].startswith("serving.knative.dev"):
        return None  # only Knative Services are patched as `ksvc`
    return f"{doc['kind']}-{doc['metadata']['name']}"


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> dict[str, Any]:
    objects = tmp_path / "objects"
    objects.mkdir()
    for doc in kustomize(with_components(tmp_path, [])):
        key = _key(doc)
        if key:
            (objects / f"{key}.json").write_text(json.dumps(doc))
    calls = tmp_path / "calls.jsonl"
    calls.write_text("")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STANDIN_OBJECTS": str(objects),
        "STANDIN_CALLS": str(calls),
        "STANDIN_REDIS_URL": redis_url,
    }
    return {"objects": objects, "calls": calls, "env": env}


def _make(cluster: dict[str, Any], target: str) -> subprocess.CompletedProcess[str]:
    kubectl = f"{sys.executable} {STANDIN} --context netclode -n netclode"
    return subprocess.run(
        ["make", target, f"KUBECTL={kubectl}", f"TAG={TAG}", f"IMAGE_REGISTRY={REGISTRY}"],
        cwd=REPO,
        env=cluster["env"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _stored(cluster: dict[str, Any], key: str) -> dict[str, Any]:
    return json.loads((cluster["objects"] / f"{key}.json").read_text())


def _calls(cluster: dict[str, Any]) -> list[list[str]]:
    return [json.loads(line)[4:] for line in cluster["calls"].read_text().splitlines()]


@pytest.mark.parametrize(
    ("target", "functions"),
    [
        ("rollout-control-plane", ["api", "ingest", "pool", "deadletter"]),
        ("rollout-github-bot", ["webhook", "bot"]),
    ],
)
def test_functions_get_a_new_revision_on_the_tag_then_wait_for_ready(
    cluster: dict[str, Any], target: str, functions: list[str]
) -> None:
    result = _make(cluster, target)
    assert result.returncode == 0, result.stderr
    for fn in functions:
        template = _stored(cluster, f"Service-{fn}")["spec"]["template"]
        assert template["spec"]["containers"][0]["image"] == f"{REGISTRY}/netclode-functions:{TAG}"
        assert template["metadata"]["annotations"]["netclode.io/rollout"]
    waits = [c for c in _calls(cluster) if c[0] == "wait"]
    # Ready only once the new generation is observed, for each function.
    assert [w[1] for w in waits] == [f"ksvc/{fn}" for fn in functions for _ in range(2)]
    assert all(w[2].startswith("--for=jsonpath={.status.observedGeneration}=") for w in waits[::2])
    assert all(w[2] == "--for=condition=Ready" for w in waits[1::2])


def test_agent_rollout_points_new_sandboxes_at_the_tag_and_drains_the_pool(
    cluster: dict[str, Any], redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.rpush("pool:ready", "a1", "b2")
    client.hset("sandbox:a1", "state", "ready")
    client.hset("sandbox:b2", "state", "ready")
    result = _make(cluster, "rollout-agent")
    assert result.returncode == 0, result.stderr
    config = _stored(cluster, "ConfigMap-netclode-config")["data"]
    assert config["NETCLODE_SANDBOX_IMAGE"] == f"{REGISTRY}/netclode-sandbox:{TAG}"
    # The functions that start sandboxes re-read it: new revisions, image unchanged.
    for fn in ("api", "pool"):
        template = _stored(cluster, f"Service-{fn}")["spec"]["template"]
        assert template["metadata"]["annotations"]["netclode.io/rollout"]
        assert template["spec"]["containers"][0]["image"] == "netclode-functions:latest"
    assert not client.exists("pool:ready")
    assert client.hget("sandbox:a1", "state") == client.hget("sandbox:b2", "state") == "draining"
    deleted = [c[2] for c in _calls(cluster) if c[:2] == ["delete", "pod"]]
    assert deleted == ["sbx-a1", "sbx-b2"]
    assert "drained: a1" in result.stdout


def test_secret_proxy_rollout_sets_both_containers_to_the_tag(cluster: dict[str, Any]) -> None:
    result = _make(cluster, "rollout-secret-proxy")
    assert result.returncode == 0, result.stderr
    pod = _stored(cluster, "Deployment-secret-proxy")["spec"]["template"]
    image = f"{REGISTRY}/netclode-secret-proxy:{TAG}"
    assert [c["image"] for c in pod["spec"]["initContainers"]] == [image]
    assert [c["image"] for c in pod["spec"]["containers"]] == [image]
    assert ["rollout", "status", "deployment/secret-proxy", "--timeout=120s"] in _calls(cluster)


def test_a_patch_that_does_not_fit_the_object_fails_the_rollout(cluster: dict[str, Any]) -> None:
    # A Knative Service without template annotations: the JSON patch's add has no parent.
    api = _stored(cluster, "Service-api")
    del api["spec"]["template"]["metadata"]["annotations"]
    (cluster["objects"] / "Service-api.json").write_text(json.dumps(api))
    result = _make(cluster, "rollout-control-plane")
    assert result.returncode != 0
    assert not [c for c in _calls(cluster) if c[0] == "wait"]
