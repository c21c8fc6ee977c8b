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
from netclode_cli.output import to_dict
from netclode_local.stack.layout import MANIFESTS
from netclode_protocol.v1 import api_pb2, common_pb2
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


# A recorded cluster for a whole run: kubectl answers from the fixtures, the netclode CLI
# with what it prints for real messages; both log their arguments. After `kubectl delete pod`
# the pool reports the replacement sandbox, as the pool function would after the next tick.
FAKE_KUBECTL = """#!{python}
import pathlib, sys
log = pathlib.Path("{log}")
log.write_text(log.read_text() + "kubectl " + " ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if "get" in args and "brokers,triggers,pingsources" in args:
    print(pathlib.Path("{eventing}").read_text())
elif "delete" in args:
    pathlib.Path("{state}").write_text("replaced")
else:
    sys.exit(f"unexpected kubectl call: {{args}}")
"""
FAKE_NETCLODE = """#!{python}
import json, pathlib, sys
log = pathlib.Path("{log}")
log.write_text(log.read_text() + "netclode " + " ".join(sys.argv[1:]) + "\\n")
args = [a for a in sys.argv[1:] if a != "--json"]
replaced = pathlib.Path("{state}").read_text() == "replaced"
answers = json.loads(pathlib.Path("{answers}").read_text())
key = " ".join(args[:2])
if key == "ops pool":
    print(json.dumps(answers["pool_after" if replaced else "pool_before"]))
elif key in answers:
    print(json.dumps(answers[key]))
elif args[0] == "prompt" or key == "sessions delete":
    print("ok")
else:
    sys.exit(f"unexpected netclode call: {{args}}")
"""


def run_smoke(
    tmp_path: Path, revisions: list[dict]
) -> tuple[subprocess.CompletedProcess[str], str]:
    log, state, answers = tmp_path / "calls.log", tmp_path / "state", tmp_path / "answers.json"
    log.write_text("")
    state.write_text("")
    sandbox = lambda i: api_pb2.PooledSandbox(id=i, state="ready")  # noqa: E731
    answers.write_text(
        json.dumps(
            {
                "pool_before": to_dict(
                    api_pb2.PoolStatusResponse(
                        target_size=2, ready=2, sandboxes=[sandbox("aaa"), sandbox("bbb")]
                    )
                ),
                "pool_after": to_dict(
                    api_pb2.PoolStatusResponse(
                        target_size=2, ready=2, sandboxes=[sandbox("bbb"), sandbox("ccc")]
                    )
                ),
                "sessions create": to_dict(common_pb2.Session(id="smoke1", name="cluster-smoke")),
                "snapshots list": [to_dict(common_pb2.Snapshot(id="snap1", session_id="smoke1"))],
                "ops revisions": revisions,
            }
        )
    )
    fill = {
        "python": sys.executable,
        "log": log,
        "state": state,
        "answers": answers,
        "eventing": FIXTURES / "eventing-ready.json",
    }
    for name, text in (("kubectl", FAKE_KUBECTL), ("netclode", FAKE_NETCLODE)):
        (tmp_path / name).write_text(text.format(**fill))
        (tmp_path / name).chmod(0o755)
    result = subprocess.run(
        [str(SCRIPT)],
        capture_output=True,
        text=True,
        env={
            "PATH": f"{tmp_path}:/usr/bin:/bin",
            "PYTHON": sys.executable,
            "NETCLODE": str(tmp_path / "netclode"),
            "SMOKE_TIMEOUT": "1",
        },
        timeout=60,
        check=False,
    )
    return result, log.read_text()


def revision_row(service: str, ready: str = "True") -> dict:
    return {"service": service, "latest_ready": f"{service}-00001", "ready": {"status": ready}}


def test_a_whole_run_on_a_healthy_cluster(tmp_path: Path) -> None:
    rows = [revision_row(name) for name in sorted(load(MANIFESTS).services)]
    result, calls = run_smoke(tmp_path, rows)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("== OK")
    assert "kubectl --context netclode -n netclode delete pod sbx-aaa --wait=false" in calls
    assert "netclode prompt smoke1" in calls
    assert calls.strip().splitlines()[-1] == "netclode --json sessions delete smoke1"


def test_a_run_stops_at_the_first_missing_function(tmp_path: Path) -> None:
    rows = [revision_row(n) for n in sorted(load(MANIFESTS).services) if n != "pool"]
    result, calls = run_smoke(tmp_path, rows)
    assert result.returncode == 1
    assert "pool: not listed" in result.stdout
    assert "FAIL: functions missing or not ready" in result.stderr
    assert calls.strip().splitlines()[-1] == "netclode --json sessions delete smoke1"
