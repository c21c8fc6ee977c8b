"""Red team (issue 17, items 4 and 5): whose uids a sandbox's processes and files have.

Uid 1000 inside used to be root outside: what a sandbox wrote in its workspace was root's,
setuid-root files made there stayed setuid-root on the host and in snapshots, and
`ulimit -u` did not hold (the kernel exempts root). And the agent ran as the runtime's uid,
so it could read the session token and the runtime's memory, and publish as the runtime.
Now each sandbox's two uids (runtime, agent) map to unprivileged host uids of its own, and
everything the agent runs (Exec here) has the agent's.
"""

from __future__ import annotations

import shutil
import stat
import sys
import uuid
from pathlib import Path

import pytest

from netclode.drivers.hostlayout import Layout
from netclode_local.sandboxhost import userns, workspacecopies
from netclode_local.sandboxhost.mounts import WorkspaceImages
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2, events_pb2
from tests.support.inside import field
from tests.support.sandboxhost import mount_options, snapshot_files
from tests.support.stack import Client, Stack

pytestmark = pytest.mark.sandbox

TOKEN_FILE = "/run/netclode/session/token"
# Finds the runtime (`<python> -m netclode_sandbox`, nothing more) among the processes.
RUNTIME_PID = (
    "for p in /proc/[0-9]*; do "
    "tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -qx -- '[^ ]* -m netclode_sandbox ' && "
    "echo ${p#/proc/}; done"
)
# How many of 40 children live at once under RLIMIT_NPROC 20 (each waits for its parent).
FORKS = """
import os, resource, signal
resource.setrlimit(resource.RLIMIT_NPROC, (20, 20))
children = []
try:
    for _ in range(40):
        pid = os.fork()
        if pid == 0:
            signal.pause()
        children.append(pid)
except BlockingIOError:
    pass
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(len(children))
"""
# Publishes over the control socket with whatever token it can read (argv: a hex batch).
POSTER = """
import http.client, socket, sys
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect("/run/netclode/out/control.sock")
for source in ("/run/netclode/session/token", "/proc/%s/environ" % sys.argv[2]):
    try:
        token = open(source).read().strip()
        break
    except OSError as exc:
        print("no token from", source, type(exc).__name__)
else:
    token = "ncs_guessed"
conn = Conn("ingest")
headers = {"Content-Type": "application/proto", "Authorization": "Bearer " + token}
conn.request("POST", "/netclode.v1.IngestService/Publish", bytes.fromhex(sys.argv[1]), headers)
print(conn.getresponse().status)
"""


@pytest.fixture(scope="module")
def api(stack: Stack) -> Client:
    return stack.client()


def _sh(api: Client, session_id: str, script: str) -> tuple[int, str]:
    reply = api.exec(session_id, "sh", "-c", script)
    return reply.exit_code, (reply.stdout + reply.stderr).decode()


def _workspace(stack: Stack, session_id: str) -> Path:
    return Layout(stack.layout.data).workspace(field(stack, session_id, "workspace"))


def test_workspace_files_belong_to_an_unprivileged_host_uid(stack: Stack, api: Client) -> None:
    session = api.ready(name="uids-owner")
    code, out = _sh(api, session.id, "echo x > owned.txt && id -u && stat -c %u owned.txt")
    assert (code, out) == (0, "1000\n1000\n")
    owner = (_workspace(stack, session.id) / "owned.txt").stat().st_uid
    assert owner != 0
    assert owner >= userns.configured_base()  # the sandbox range, not a host user's uid


def test_the_process_limit_holds(api: Client) -> None:
    """RLIMIT_NPROC counts the agent's uid: 40 background processes under a limit of 20
    fail to start (as root outside, all 40 ran)."""
    session = api.ready(name="uids-nproc")
    reply = api.exec(session.id, sys.executable, "-c", FORKS)
    assert reply.exit_code == 0, reply.stderr
    assert int(reply.stdout) < 20


def test_no_user_namespace_inside(api: Client) -> None:
    """A nested user namespace gave a full capability set (and mounts) inside the sandbox."""
    session = api.ready(name="uids-userns")
    code, out = _sh(api, session.id, "unshare -U true")
    assert code != 0 and "unshare failed" in out, out  # the seccomp filter refuses it first
    # And behind it the namespace itself allows none (bwrap's --disable-userns, by hand).
    assert _sh(api, session.id, "cat /proc/sys/user/max_user_namespaces") == (0, "0\n")


def test_setuid_bits_do_not_work_inside_nor_survive_outside(stack: Stack, api: Client) -> None:
    session = api.ready(name="uids-setuid")
    made = "cp /usr/bin/id suid && chmod 6755 suid && stat -c %a suid && ./suid -u"
    assert _sh(api, session.id, made) == (0, "6755\n1000\n")  # nosuid: still the agent
    mounts = _sh(api, session.id, "grep ' /workspace ' /proc/self/mountinfo")[1]
    assert "nosuid" in mounts.split()[5].split(",")
    # A snapshot and a workspace restored from it: as copies of the tree, they carry no
    # setuid/setgid bit; as images of the workspace, theirs never work (mounted nosuid).
    layout = Layout(stack.layout.data)
    workspace_id = field(stack, session.id, "workspace")
    images = WorkspaceImages(layout.workspace_images)
    as_images = images.image(layout.workspace(workspace_id)).is_file()
    used = images if as_images else None
    snapshot_id, clone_id = f"snap-uids-{uuid.uuid4().hex[:8]}", f"ws-uids-{uuid.uuid4().hex[:8]}"
    workspacecopies.take(layout, used, workspace_id, snapshot_id)
    workspacecopies.clone(layout, used, snapshot_id, clone_id)
    clone = layout.workspace(clone_id)
    try:
        if as_images:
            with snapshot_files(layout.snapshot(snapshot_id)) as files:
                assert (files / "suid").is_file()
            images.attach(clone, 64)  # the image exists: mounted as a sandbox start does
            assert (clone / "suid").is_file() and "nosuid" in mount_options(clone)
        else:
            for copy in (layout.snapshot(snapshot_id), clone):
                mode = (copy / "suid").stat().st_mode
                assert not mode & (stat.S_ISUID | stat.S_ISGID), oct(mode)
    finally:
        workspacecopies.delete(layout, snapshot_id)
        images.delete(clone)
        shutil.rmtree(clone, ignore_errors=True)
    # Once the sandbox stops (the session pauses), the workspace has none either.
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_PAUSED)
    mode = (_workspace(stack, session.id) / "suid").stat().st_mode
    assert not mode & (stat.S_ISUID | stat.S_ISGID), oct(mode)


def test_the_agent_cannot_read_the_runtime_token_or_memory(api: Client) -> None:
    session = api.ready(name="uids-secrets")
    pid = _sh(api, session.id, RUNTIME_PID)[1].split()
    assert len(pid) == 1, pid  # the runtime is there to be attacked
    for target in (TOKEN_FILE, f"/proc/{pid[0]}/environ", f"/proc/{pid[0]}/mem"):
        code, out = _sh(api, session.id, f"head -c 64 {target}")
        assert code != 0 and "Permission denied" in out, (target, out)
    # Nor kill it, nor look into its directories, nor plant a batch in its outbox.
    private = ("/run/netclode/in", "/run/netclode/session", "/run/netclode/outbox")
    for how in (f"kill -9 {pid[0]}", *(f"ls {d}" for d in private), "touch /run/netclode/outbox/x"):
        assert _sh(api, session.id, how)[0] != 0, how
    assert _sh(api, session.id, f"kill -0 {pid[0]}")[0] != 0
    assert api.exec(session.id, "true").exit_code == 0  # the runtime lives on


def test_a_batch_planted_in_the_workspace_is_not_published(api: Client) -> None:
    """The runtime's outbox used to live in the workspace: a batch the agent wrote there was
    published by the next runtime (after a pause), with its token."""
    session = api.ready(name="uids-plant")
    planted = f".netclode/outbox/{session.id}/1.pb"
    plant = "import os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
    plant += "open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))"
    hexed = _forged_batch().SerializeToString().hex()
    assert api.exec(session.id, sys.executable, "-c", plant, planted, hexed).exit_code == 0
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_PAUSED)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_READY)
    assert api.exec(session.id, "test", "-f", planted).exit_code == 0  # never sent, nor removed
    entries = api.entries(session.id).entries
    assert all("FORGED" not in e.event.message.content for e in entries)


def _forged_batch() -> agent_pb2.PublishRequest:
    forged = events_pb2.MessagePayload(
        role=events_pb2.MESSAGE_ROLE_ASSISTANT, content="FORGED: nothing happened here"
    )
    item = agent_pb2.AgentOutput(
        event=events_pb2.AgentEvent(kind=events_pb2.AGENT_EVENT_KIND_MESSAGE, message=forged)
    )
    return agent_pb2.PublishRequest(items=[item], publisher_id=uuid.uuid4().hex, seq=1)


def test_the_agent_cannot_publish_as_the_runtime(api: Client) -> None:
    session = api.ready(name="uids-forge")
    pid = _sh(api, session.id, RUNTIME_PID)[1].split()[0]
    hexed = _forged_batch().SerializeToString().hex()
    reply = api.exec(session.id, sys.executable, "-c", POSTER, hexed, pid)
    out = (reply.stdout + reply.stderr).decode()
    assert out.count("no token from") == 2, out
    assert reply.exit_code != 0 and "PermissionError" in out, out  # the socket is closed too
    entries = api.entries(session.id).entries
    assert entries and all("FORGED" not in e.event.message.content for e in entries)
