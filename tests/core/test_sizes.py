"""Session sizes: the limits the API reports, refusals over them (API and CLI), and the size a
local sandbox really gets (its memory is a hard limit; vCPUs are advisory locally)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from connectrpc.errors import ConnectError

from netclode_cli.main import cli
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.core.conftest import SIZES
from tests.support.stack import Client, Stack


def limits(api: Client) -> api_pb2.GetResourceLimitsResponse:
    return api(api.sessions.get_resource_limits, api_pb2.GetResourceLimitsRequest())


def data_limit_mb(api: Client, session_id: str) -> int:
    """The sandbox's data-segment limit (what a program may allocate), in MiB."""
    reply = api.exec(session_id, "sh", "-c", "ulimit -d")
    assert reply.exit_code == 0, reply
    return int(reply.stdout.decode().strip()) // 1024


@pytest.fixture
def run(stack: Stack):
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=stack.env(), catch_exceptions=False)

    return invoke


def test_limits_come_from_the_settings(api: Client) -> None:
    assert limits(api) == api_pb2.GetResourceLimitsResponse(
        max_vcpus=int(SIZES["NETCLODE_MAX_VCPUS"]),
        max_memory_mb=int(SIZES["NETCLODE_MAX_MEMORY_MB"]),
        default_vcpus=int(SIZES["NETCLODE_DEFAULT_VCPUS"]),
        default_memory_mb=int(SIZES["NETCLODE_DEFAULT_MEMORY_MB"]),
        min_memory_mb=512,
    )


def test_limits_need_a_token(stack: Stack) -> None:
    anonymous = stack.client(token="")
    with pytest.raises(ConnectError) as caught:
        limits(anonymous)
    assert caught.value.code.value == "unauthenticated"


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ({"vcpus": 3}, "resources.vcpus: 3 is not between 1 and 2"),
        ({"memory_mb": 8193}, "resources.memory_mb: 8193 MiB is not between 512 and 8192 MiB"),
        ({"memory_mb": 256}, "resources.memory_mb: 256 MiB is not between 512 and 8192 MiB"),
    ],
)
def test_a_size_over_the_limits_is_refused_and_nothing_is_created(
    api: Client, size: dict, message: str
) -> None:
    before = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest())
    with pytest.raises(ConnectError) as caught:
        api.create(resources=common_pb2.SandboxResources(**size))
    assert caught.value.code.value == "invalid_argument"
    assert caught.value.message == message
    assert api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()) == before


@pytest.mark.sandbox
def test_the_memory_asked_for_is_the_sandboxs_limit(api: Client) -> None:
    asked = api.ready(name="big", resources=common_pb2.SandboxResources(vcpus=2, memory_mb=6144))
    assert (asked.resources.vcpus, asked.resources.memory_mb) == (2, 6144)
    assert data_limit_mb(api, asked.id) == 6144
    plain = api.ready(name="plain")
    assert data_limit_mb(api, plain.id) == int(SIZES["NETCLODE_DEFAULT_MEMORY_MB"])


def test_cli_create_with_a_size_and_show_it(run) -> None:
    created = run(
        "--json", "sessions", "create", "--name", "sized", "--cpus", "2", "--memory", "3G"
    )
    assert created.exit_code == 0, created.output
    session = json.loads(created.output)
    assert session["resources"] == {"vcpus": 2, "memoryMb": 3072}
    shown = run("sessions", "get", session["id"])
    assert "Size:         2 vCPUs, 3 GiB" in shown.output
    table = run("sessions", "limits")
    assert table.output.splitlines() == [
        "vCPUs:   default 1, at most 2",
        "Memory:  default 4 GiB, 0.5 GiB to 8 GiB",
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--cpus", "3"], 1, "Error: --cpus: 3 is more than the 2 vCPUs a session may have"),
        (["--memory", "9G"], 1, "Error: --memory: 9 GiB is not between 0.5 GiB and 8 GiB"),
        (["--memory", "100"], 1, "Error: --memory: 100 MiB is not between 0.5 GiB and 8 GiB"),
        (["--memory", "4X"], 2, "'4X' is not a memory size (e.g. 4096, 512M, 4G)"),
        (["--cpus", "0"], 2, "0 is not in the range x>=1"),
        (["--cpus", "two"], 2, "'two' is not a valid integer"),
    ],
)
def test_cli_refuses_bad_sizes_clearly(run, args: list[str], code: int, message: str) -> None:
    def session_ids() -> list[str]:
        """The sessions that exist (ids only: an earlier test's may still be starting)."""
        listed = json.loads(run("--json", "sessions", "list").output)
        return [summary["session"]["id"] for summary in listed]

    before = session_ids()
    result = run("sessions", "create", *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    if code == 1:
        assert result.output.strip() == message  # one line, nothing else
    assert session_ids() == before  # nothing created
