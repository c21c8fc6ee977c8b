"""scripts/cluster-smoke.sh cannot run here (no cluster): its readers are checked on recorded
`kubectl` outputs (fixtures/cluster-smoke) and on what the netclode CLI prints for real
messages (netclode_cli.output.to_dict, as `--json` does). The revisions reader is checked
against the real `netclode ops revisions` in tests/kubernetes/test_ops.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from netclode.eventing.topology import load
from netclode.localstack.layout import MANIFESTS
from netclode.v1 import api_pb2, common_pb2
from netclode_cli.output import to_dict
from tests.manifests.conftest import REPO

SCRIPT = REPO / "scripts" / "cluster-smoke.sh"
FIXTURES = Path(__file__).parent / "fixtures" / "cluster-smoke"


def smoke(function: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Calls one function of the script (sourced: main does not run)."""
    return subprocess.run(
        ["bash", "-c", 'source "$1" && shift && "$@"', "smoke-test", str(SCRIPT), function, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
        timeout=20,
        check=False,
    )


def kubectl_output(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def test_ready_eventing_passes() -> None:
    result = smoke(
        "parse",
        "not-ready",
        "Broker",
        "Trigger",
        "PingSource",
        stdin=kubectl_output("eventing-ready"),
    )
    assert (result.returncode, result.stdout.strip()) == (0, "")


@pytest.mark.parametrize(
    ("fixture", "problem"),
    [
        (
            "eventing-trigger-not-ready",
            'Trigger/pool-on-tick: services.serving.knative.dev "pool" not found',
        ),
        ("eventing-pingsource-starting", "PingSource/pool-tick: Ready is Unknown"),
        ("eventing-no-pingsource", "no PingSource found"),
    ],
)
def test_eventing_that_is_not_ready_is_named(fixture: str, problem: str) -> None:
    result = smoke(
        "parse", "not-ready", "Broker", "Trigger", "PingSource", stdin=kubectl_output(fixture)
    )
    assert result.returncode == 1
    assert result.stdout.strip().splitlines() == [problem]


def test_the_pool_reader_gives_target_ready_and_the_ready_sandboxes() -> None:
    status = api_pb2.PoolStatusResponse(
        target_size=2,
        ready=1,
        sandboxes=[
            api_pb2.PooledSandbox(id="a1b2c3", state="ready", created_at=Timestamp(seconds=1)),
            api_pb2.PooledSandbox(id="d4e5f6", state="starting"),
        ],
    )
    assert smoke("parse", "pool", stdin=json.dumps(to_dict(status))).stdout.split() == [
        "2",
        "1",
        "a1b2c3",
    ]
    empty = json.dumps(to_dict(api_pb2.PoolStatusResponse()))  # zeros are left out
    assert smoke("parse", "pool", stdin=empty).stdout.split() == ["0", "0"]


def test_session_and_snapshot_readers() -> None:
    session = to_dict(common_pb2.Session(id="s0m3s3ss10n1", name="cluster-smoke"))
    assert smoke("parse", "id", stdin=json.dumps(session)).stdout.strip() == "s0m3s3ss10n1"
    snapshots = [to_dict(common_pb2.Snapshot(id=i, session_id="s0m3s3ss10n1")) for i in "ab"]
    assert smoke("parse", "count", stdin=json.dumps(snapshots)).stdout.strip() == "2"
    assert smoke("parse", "count", stdin="[]").stdout.strip() == "0"


def test_the_expected_functions_are_the_knative_services_of_the_manifests() -> None:
    assert smoke("functions").stdout.split() == sorted(load(MANIFESTS).services)


def test_the_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0
