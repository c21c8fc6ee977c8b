"""Who does what inside the sandbox: the runtime's uid versus the agent's.

The runtime holds the session token and the inbound secret; the agent (the SDK backends'
CLIs and servers, the native agent's Bash, Exec, the terminal, git) runs arbitrary code.
When the host starts the runtime with NETCLODE_AGENT_UID (a local sandbox: uid 0 inside,
keeping only CAP_SETUID, CAP_SETGID and CAP_KILL), every process the runtime starts runs as
that uid, with no capabilities, and cannot read the runtime's token file, /proc/<runtime>/environ or
/proc/<runtime>/mem, nor signal it (the kernel allows that to the same uid only).

The runtime's own file work in the workspace (the native agent's Write/Edit, the Claude
session mapping, git's config) must leave files the agent can change later, so the
runtime's filesystem uid (setfsuid, per thread, inherited by threads started later) is the
agent's from `drop_files_to_agent` on; `as_runtime()` switches one thread back for the
runtime's private files (the token). The runtime's group is already the agent's (the host
starts it so), so new files get the agent's group either way.

Without NETCLODE_AGENT_UID (tests running the runtime on a host, a pod whose runtime and
agent share one uid) nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator, Sequence
from typing import Any

from netclode_protocol.settings import read_text

AGENT_UID_ENV = "NETCLODE_AGENT_UID"
PR_SET_DUMPABLE = 4
SETPRIV = "/usr/bin/setpriv"  # util-linux, in every sandbox's /usr

_libc = ctypes.CDLL(None, use_errno=True)


def agent_uid() -> int | None:
    """The agent's uid when it differs from ours, else None."""
    raw = read_text(AGENT_UID_ENV)
    if not raw.isdigit() or int(raw) == os.geteuid():
        return None
    return int(raw)


def popen_kwargs() -> dict[str, Any]:
    """subprocess.Popen arguments that start a command as the agent (none when no split)."""
    uid = agent_uid()
    return {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}


def agent_argv(argv: Sequence[str]) -> list[str]:
    """`argv` run as the agent, through setpriv: for SDKs that start their CLI themselves
    and take neither a uid nor a preexec hook (unchanged when there is no split)."""
    uid = agent_uid()
    if uid is None:
        return list(argv)
    return [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]


def become_agent() -> None:
    """In a forked child about to exec (the terminal's shell): drop to the agent's uid."""
    uid = agent_uid()
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def drop_files_to_agent() -> None:
    """From now on (this thread and the threads it starts) files are opened and created as
    the agent; the process is also made non-dumpable, so even a uid mistake would not
    expose its memory."""
    uid = agent_uid()
    if uid is None:
        return
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _set_fsuid(uid)


@contextlib.contextmanager
def as_runtime() -> Iterator[None]:
    """Files opened or created in this block (this thread only) are the runtime's."""
    uid = agent_uid()
    if uid is None:
        yield
        return
    _set_fsuid(os.geteuid())
    try:
        yield
    finally:
        _set_fsuid(uid)


def _set_fsuid(uid: int) -> None:
    """setfsuid reports no errors: ask again (-1 only reads) to be sure it happened."""
    _libc.setfsuid(uid)
    if _libc.setfsuid(-1) != uid:
        raise PermissionError(f"cannot switch the filesystem uid to {uid}")
