"""Resume into a warm sandbox: a session's workspace attached to a running pool sandbox (the
sandbox host mounts it over the sandbox's attach point; the mount propagates into bwrap's
namespace), and the session lifecycle around it. Real host, bubblewrap and Valkey."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.hostlayout import Layout
from netclode.drivers.local import LocalDriver
from netclode.sessions.lifecycle import Lifecycle
from netclode.store.sessions import SessionRecord
from netclode.store.streams import SessionStream
from netclode.warmpool import WarmPool
from netclode_protocol import keys
from netclode_protocol.errors import FailedPrecondition, NotFound, Unavailable
from netclode_protocol.v1 import common_pb2
from tests.sandbox.conftest import run, wait_ready
from tests.support.inside import until
from tests.support.sandboxhost import start_sandbox_host

pytestmark = pytest.mark.sandbox

S = common_pb2


def _used_workspace(driver: LocalDriver, workspace_id: str) -> None:
    """A workspace a session worked in and left (paused): notes.txt holds "kept"."""
    sandbox_id = f"sb-{workspace_id}"
    driver.start(SandboxSpec(sandbox_id=sandbox_id, workspace_id=workspace_id))
    wait_ready(driver, sandbox_id)
    assert run(driver, sandbox_id, "sh", "-c", "echo kept > notes.txt").exit_code == 0
    driver.stop(sandbox_id)


def _started(driver: LocalDriver, sandbox_id: str, workspace_id: str) -> str:
    driver.start(SandboxSpec(sandbox_id=sandbox_id, workspace_id=workspace_id))
    wait_ready(driver, sandbox_id)
    return sandbox_id


def _last_mount(mountinfo: bytes, target: str) -> list[str]:
    """The topmost mount at `target` (a mountinfo line's fields: root is [3], options [5])."""
    lines = [line.split() for line in mountinfo.decode().splitlines()]
    return [fields for fields in lines if fields[4] == target][-1]


def _host_mounts_under(path: Path) -> list[str]:
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [line for line in lines if line.split()[1].startswith(f"{path}/")]


def test_an_attached_workspace_is_what_the_running_sandbox_sees(driver, data_dir):
    layout = Layout(data_dir)
    _used_workspace(driver, "ws-att-old")
    sandbox_id = _started(driver, "sb-att", "ws-att-fresh")
    driver.attach_workspace(sandbox_id, "ws-att-old")

    assert run(driver, sandbox_id, "cat", "notes.txt").stdout == b"kept\n"
    assert run(driver, sandbox_id, "sh", "-c", "echo more > more.txt").exit_code == 0
    assert (layout.workspace("ws-att-old") / "more.txt").read_text() == "more\n"
    mountinfo = run(driver, sandbox_id, "cat", "/proc/self/mountinfo").stdout
    workspace = _last_mount(mountinfo, "/workspace")
    assert {"nosuid", "nodev"} <= set(workspace[5].split(","))
    # The runtime's outbox is the workspace's too: batches it left behind are found again.
    assert _last_mount(mountinfo, "/run/netclode/outbox")[3].endswith("/outboxes/ws-att-old")
    listed = {s.sandbox_id: s.workspace_id for s in driver.list()}
    assert listed[sandbox_id] == "ws-att-old"

    driver.stop(sandbox_id)
    assert (layout.workspace("ws-att-old") / "notes.txt").read_text() == "kept\n"
    assert _host_mounts_under(layout.sandbox(sandbox_id)) == []
    driver.delete_workspace("ws-att-fresh")
    driver.delete_workspace("ws-att-old")


def test_a_sandbox_takes_one_workspace_and_only_a_free_one(driver):
    _used_workspace(driver, "ws-once-a")
    _used_workspace(driver, "ws-once-b")
    busy = _started(driver, "sb-busy", "ws-busy")
    sandbox_id = _started(driver, "sb-once", "ws-once-fresh")

    with pytest.raises(NotFound, match="ws-nowhere does not exist"):
        driver.attach_workspace(sandbox_id, "ws-nowhere")
    with pytest.raises(FailedPrecondition, match="ws-busy is in use by another sandbox"):
        driver.attach_workspace(sandbox_id, "ws-busy")
    driver.attach_workspace(sandbox_id, "ws-once-a")
    driver.attach_workspace(sandbox_id, "ws-once-a")  # a retry is fine
    with pytest.raises(FailedPrecondition, match="already had a workspace attached"):
        driver.attach_workspace(sandbox_id, "ws-once-b")
    # Refusals change nothing: the sandbox serves on, on the workspace it has.
    assert run(driver, sandbox_id, "cat", "notes.txt").stdout == b"kept\n"
    for running in (busy, sandbox_id):
        driver.stop(running)


@pytest.fixture(scope="module")
def small_quota(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDriver]:
    """A host of its own whose workspaces hold 64 MiB (the least allowed)."""
    data = tmp_path_factory.mktemp("small-quota")
    host = start_sandbox_host(data, {"NETCLODE_SANDBOX_WORKSPACE_MB": "64"})
    driver = LocalDriver(Settings(data_dir=data))
    yield driver
    driver.close()
    host.terminate()
    host.wait(timeout=10)


def test_an_attach_that_fails_stops_the_sandbox_and_leaves_the_workspace(small_quota):
    # A workspace from before images (as a clone is) goes into one when first attached:
    # this one does not fit.
    big = small_quota.layout.workspace("ws-big")
    big.mkdir(parents=True)
    (big / "data.bin").write_bytes(os.urandom(80 << 20))
    sandbox_id = _started(small_quota, "sb-small", "ws-small-fresh")

    with pytest.raises(Unavailable, match="No space left"):
        small_quota.attach_workspace(sandbox_id, "ws-big")

    assert sandbox_id not in {s.sandbox_id for s in small_quota.list()}
    assert _host_mounts_under(small_quota.layout.sandbox(sandbox_id)) == []
    assert (big / "data.bin").stat().st_size == 80 << 20
    assert not os.path.ismount(big)


@pytest.fixture
def life(redis_client, driver, data_dir) -> Lifecycle:
    return Lifecycle(Settings(data_dir=data_dir), redis_client, driver)


def _warm(redis_client, driver, data_dir) -> tuple[str, str]:
    """One ready pool sandbox: (its id, its fresh workspace)."""
    pool = WarmPool(Settings(data_dir=data_dir, pool_size=1), redis_client)
    (sandbox_id,) = pool.reconcile(driver).ready
    return sandbox_id, pool.registry.record(sandbox_id)["workspace"]


def _resuming(life: Lifecycle, session_id: str, workspace_id: str) -> SessionRecord:
    record = SessionRecord(
        id=session_id,
        name=session_id,
        owner="tester",
        status=S.SESSION_STATUS_RESUMING,
        workspace=workspace_id,
    )
    life.store.create(record)
    return record


def test_resume_takes_a_warm_sandbox_and_drops_its_fresh_workspace(
    life, redis_client, driver, data_dir
):
    _used_workspace(driver, "ws-life")
    warm, fresh = _warm(redis_client, driver, data_dir)
    _resuming(life, "sess-life", "ws-life")

    life.provision("sess-life")

    record = life.store.get("sess-life")
    assert record is not None and record.status == S.SESSION_STATUS_READY
    assert (record.sandbox, record.workspace) == (warm, "ws-life")
    assert run(driver, warm, "cat", "notes.txt").stdout == b"kept\n"
    until(
        "the unused fresh workspace is gone", lambda: not Layout(data_dir).workspace(fresh).exists()
    )
    life.pause(record, "test over")
    driver.delete_workspace("ws-life")


def test_a_failed_attach_leaves_the_session_paused_saying_why(life, redis_client, driver, data_dir):
    _used_workspace(driver, "ws-held")
    warm, fresh = _warm(redis_client, driver, data_dir)
    holder = _started(driver, "sb-holder", "ws-held")  # an old sandbox still on it
    _resuming(life, "sess-held", "ws-held")

    life.provision("sess-held")

    record = life.store.get("sess-held")
    assert record is not None and record.status == S.SESSION_STATUS_PAUSED
    assert (record.sandbox, record.token_hash, record.workspace) == ("", "", "ws-held")
    errors = [
        e.error.message for e in SessionStream(redis_client, "sess-held").page("", 50).entries
    ]
    assert any("could not resume" in m and "ws-held is in use" in m for m in errors), errors
    assert warm not in {s.sandbox_id for s in driver.list()}
    assert not redis_client.exists(keys.sandbox(warm))
    until(
        "the unused fresh workspace is gone", lambda: not Layout(data_dir).workspace(fresh).exists()
    )
    assert run(driver, holder, "cat", "notes.txt").stdout == b"kept\n"  # untouched
    driver.stop(holder)
    driver.delete_workspace("ws-held")


def test_a_pool_sandbox_found_dead_is_dropped_and_a_new_one_takes_the_session(
    life, redis_client, driver, data_dir
):
    """As after a restart of the host: the pool still lists a sandbox that died with it."""
    _used_workspace(driver, "ws-stale")
    stale, fresh = _warm(redis_client, driver, data_dir)
    driver.stop(stale)
    _resuming(life, "sess-stale", "ws-stale")

    life.provision("sess-stale")

    record = life.store.get("sess-stale")
    assert record is not None and record.status == S.SESSION_STATUS_READY
    assert record.sandbox not in ("", stale) and record.workspace == "ws-stale"
    assert run(driver, record.sandbox, "cat", "notes.txt").stdout == b"kept\n"
    entries = SessionStream(redis_client, "sess-stale").page("", 50).entries
    assert [e.error.message for e in entries if e.HasField("error")] == []
    assert not redis_client.exists(keys.sandbox(stale))
    until(
        "the dead sandbox's fresh workspace is gone",
        lambda: not Layout(data_dir).workspace(fresh).exists(),
    )
    life.pause(record, "test over")
    driver.delete_workspace("ws-stale")
