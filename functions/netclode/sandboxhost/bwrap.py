"""The bubblewrap command line of one sandbox, and the limits around it.

What a sandbox sees: read-only system dirs (/usr and a short list of /etc files), a private
/tmp, /proc and /dev, its workspace at /workspace, the Python tree the runtime needs (the
interpreter, the venv, and only the `netclode.v1` and `netclode_sandbox` sources, never the
repository root, which may hold a `.env`), and /run/netclode/{in,out} for its sockets.
It runs as uid 1000 inside, with every namespace unshared (so only its own loopback) and no
capabilities (`--cap-drop ALL`: without it, bwrap started by root keeps almost every
capability inside). bwrap runs as the host's own user: when that is root, uid 1000 inside
maps to root outside (files it writes in the workspace are root's), since an unprivileged
bwrap could not reach an interpreter under /root.

Limits: cgroups v2 are not used (this host may not delegate them); each sandbox gets
rlimits through prlimit: data segment (memory), processes, open files, no core dumps, and
runs at nice 10 so sandboxes cannot starve the control plane of CPU.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import netclode
import netclode_sandbox

INSIDE_UID = 1000
RUN_DIR = "/run/netclode"
DEFAULT_MEMORY_MB = 4096
MAX_PROCESSES = 2048
ETC_FILES = (
    "ssl",
    "ca-certificates",
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "bash.bashrc",
    "inputrc",
    "profile",
    "mime.types",
)
PASSWD = f"agent:x:{INSIDE_UID}:{INSIDE_UID}:agent:/workspace:/bin/bash\n"
GROUP = f"agent:x:{INSIDE_UID}:\n"
HOSTS = "127.0.0.1 localhost sandbox\n::1 localhost\n"


def require_bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SystemExit("bubblewrap is missing: run `apt-get install bubblewrap`")
    return path


@dataclass
class Command:
    """argv plus the descriptors it refers to; close_fds() after the process started."""

    argv: list[str]
    fds: list[int] = field(default_factory=list)

    def close_fds(self) -> None:
        for fd in self.fds:
            os.close(fd)

    def bind(self, flag: str, source: Path, dest: str) -> None:
        self.argv += [flag, str(source), dest]

    def data(self, flag: str, data: bytes, dest: str) -> int:
        read, write = os.pipe()
        os.write(write, data)  # small: fits the pipe buffer
        os.close(write)
        self.fds.append(read)
        if flag:
            self.argv += [flag, str(read), dest]
        return read


def build(
    bwrap: str,
    workspace: Path,
    sandbox_dir: Path,
    secret: str,
    memory_mb: int,
) -> tuple[Command, dict[str, str]]:
    """The command (limits + bwrap + runtime) and the environment to start it with."""
    mem = (memory_mb or DEFAULT_MEMORY_MB) * 1024 * 1024
    cmd = Command(
        [
            "prlimit",
            f"--data={mem}",
            f"--nproc={MAX_PROCESSES}",
            "--nofile=4096",
            "--core=0",
            "--",
            "nice",
            "-n",
            "10",
            bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--uid",
            str(INSIDE_UID),
            "--gid",
            str(INSIDE_UID),
            "--hostname",
            "sandbox",
        ]
    )
    _system(cmd)
    _python(cmd)
    cmd.argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", RUN_DIR]  # noqa: S108
    cmd.bind("--bind", workspace, "/workspace")
    cmd.bind("--bind", sandbox_dir / "in", f"{RUN_DIR}/in")
    cmd.bind("--ro-bind", sandbox_dir / "out", f"{RUN_DIR}/out")
    secret_fd = cmd.data("", secret.encode(), "")
    os.set_inheritable(secret_fd, True)
    # The root is a tmpfs bwrap assembled: freeze it so /, /etc and friends are read-only too.
    cmd.argv += [
        "--remount-ro",
        "/",
        "--chdir",
        "/workspace",
        "--",
        sys.executable,
        "-m",
        "netclode_sandbox",
    ]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/workspace",
        "USER": "agent",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NETCLODE_LISTEN_SOCKET": f"{RUN_DIR}/in/sandbox.sock",
        "NETCLODE_CONTROL_SOCKET": f"{RUN_DIR}/out/control.sock",
        "NETCLODE_SECRET_FD": str(secret_fd),
        "NETCLODE_WORKSPACE": "/workspace",
    }
    return cmd, env


def _system(cmd: Command) -> None:
    cmd.bind("--ro-bind", Path("/usr"), "/usr")
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/") / name
        if top.is_symlink():
            cmd.argv += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            cmd.bind("--ro-bind", top, str(top))
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            cmd.bind("--ro-bind", Path("/etc") / name, f"/etc/{name}")
    cmd.data("--ro-bind-data", PASSWD.encode(), "/etc/passwd")
    cmd.data("--ro-bind-data", GROUP.encode(), "/etc/group")
    cmd.data("--ro-bind-data", HOSTS.encode(), "/etc/hosts")


def _python(cmd: Command) -> None:
    """The interpreter, the venv, and the two source trees the runtime imports, at their
    host paths, so the venv's own path entries keep working inside."""
    trees = {Path(sys.base_prefix), Path(sys.prefix)}
    for tree in sorted(trees):
        if not tree.is_relative_to("/usr"):
            cmd.bind("--ro-bind", tree, str(tree))
    package = Path(netclode.__file__).parent
    cmd.bind("--ro-bind", package / "__init__.py", str(package / "__init__.py"))
    cmd.bind("--ro-bind", package / "v1", str(package / "v1"))
    runtime = Path(netclode_sandbox.__file__).parent
    cmd.bind("--ro-bind", runtime, str(runtime))
