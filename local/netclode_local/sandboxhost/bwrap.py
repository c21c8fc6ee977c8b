"""The bubblewrap command line of one sandbox, and the limits around it.

What a sandbox sees: read-only system dirs (/usr and a short list of /etc files), a private
/tmp, /proc and /dev, its workspace at /workspace, the Python tree the runtime needs (the
interpreter, the venv, `netclode_sandbox` and the one package of the control plane it may
import, `netclode_protocol` (the import contracts in pyproject.toml hold it to that), never
the repository root, which may hold a `.env`), the agent tools scripts/setup.sh installed (the
OpenCode server, at TOOLS_DIR on PATH), and /run/netclode/{in,out} for its sockets.

Its only way to the internet is the auth-proxy (HTTP(S)_PROXY=127.0.0.1:8080, served by the
runtime's process, listening before the runtime serves: see netclode_sandbox.authproxy), which
adds the session token the runtime writes to /run/netclode/session/token (a host dir only
the runtime's uid may enter) and forwards to the secret proxy over out/proxy.sock. The
secret proxy's CA is trusted inside: the CA bundle (system roots + ours) is bound read-only
over the system store and named by every *_CA_* variable the usual clients read; Node gets
our CA alone (NODE_EXTRA_CA_CERTS adds to its own roots).
Every namespace is unshared (so only its own loopback). The user namespace is the host's
(see userns.py): the runtime runs as uid 0 inside keeping only CAP_SETUID, CAP_SETGID and
CAP_KILL (to start the agent's processes as uid 1000, which have no capabilities at all, and
stop them), and both uids map to unprivileged host uids of the sandbox's own slot.

Limits (see limits.py): the whole sandbox runs in its own cgroups where the host has them
(memory with its /tmp pages, processes, CPU), its /tmp is a size-limited tmpfs the host
mounts, and a seccomp filter (see seccomp.py) refuses namespaces, mounts, keyrings, ptrace
and the like. Each process also gets rlimits through prlimit (data segment, processes, open
files, no core dumps: the only limits where there are no cgroups) and runs at nice 10 so
sandboxes cannot starve the control plane of CPU.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import netclode_local
import netclode_protocol
import netclode_sandbox
from netclode_local.sandboxhost import seccomp, userns
from netclode_local.sandboxhost.cgroups import join_then
from netclode_local.sandboxhost.limits import Confined, SandboxLimits

RUN_DIR = "/run/netclode"
INFO_TIMEOUT_S = 10.0
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
PASSWD = (
    f"runtime:x:{userns.RUNTIME_UID}:{userns.AGENT_UID}:runtime:/:/usr/sbin/nologin\n"
    f"agent:x:{userns.AGENT_UID}:{userns.AGENT_UID}:agent:/workspace:/bin/bash\n"
)
GROUP = f"agent:x:{userns.AGENT_UID}:\n"
HOSTS = "127.0.0.1 localhost sandbox\n::1 localhost\n"
SESSION_DIR = f"{RUN_DIR}/session"
OUTBOX_DIR = f"{RUN_DIR}/outbox"
PROXY_SOCKET = f"{RUN_DIR}/out/proxy.sock"
AUTH_PROXY = "127.0.0.1:8080"
CA_DIR = "/etc/netclode/ca"
CA_CERT = f"{CA_DIR}/ca.crt"
CA_BUNDLE = f"{CA_DIR}/ca-bundle.crt"
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"
CA_BUNDLE_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO")
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
NO_PROXY = "localhost,127.0.0.1,::1"
# Agent tools installed by scripts/setup.sh (npm packages), bound read-only into TOOLS_DIR.
TOOLS_DIR = "/opt/netclode/bin"
OPENCODE = Path(".tools/opencode/node_modules/opencode-ai/bin/opencode.exe")


def require_bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SystemExit("bubblewrap is missing: run `apt-get install bubblewrap`")
    return path


@dataclass(frozen=True)
class ProxyTrust:
    """The secret proxy's CA on the host: its certificate alone, and the bundle with it."""

    ca_cert: Path
    bundle: Path

    @classmethod
    def from_confdir(cls, confdir: Path) -> ProxyTrust:
        """Reads (creating once, if missing) the CA under the secret proxy's confdir and
        refreshes the bundle. Only certificates leave the confdir, never the CA's key."""
        from netclode_secret_proxy import ca

        return cls(ca_cert=ca.ensure_ca(confdir), bundle=ca.ca_bundle_path(confdir))


@dataclass
class Command:
    """argv plus the descriptors it refers to; close_fds() after the process started.

    `info_fd` is where bwrap reports its child, the sandbox's init (see init_pidfd).
    """

    argv: list[str]
    fds: list[int] = field(default_factory=list)
    info_fd: int = -1

    def close_fds(self) -> None:
        for fd in self.fds:
            os.close(fd)

    def bind(self, flag: str, source: Path, dest: str) -> None:
        self.argv += [flag, str(source), dest]

    def report_child(self) -> None:
        read, write = os.pipe()
        self.fds.append(write)
        self.info_fd = read
        self.argv += ["--info-fd", str(write)]

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
    outbox: Path,
    sandbox_dir: Path,
    secret: str,
    limits: SandboxLimits,
    namespaces: tuple[int, int],
    trust: ProxyTrust | None = None,
    confined: Confined | None = None,
) -> tuple[Command, dict[str, str]]:
    """The command (limits + bwrap + the runtime, which serves the auth-proxy) and the
    environment to start it with. `namespaces` are the slot's user namespaces
    (userns.namespaces); the command holds them until close_fds(). Without `trust` (no
    secret proxy configured) HTTPS through the proxy cannot work."""
    confined = confined or Confined()
    cmd = Command(
        [
            "prlimit",
            f"--data={limits.memory_mb * 1024 * 1024}",
            f"--nproc={limits.pids}",
            "--nofile=4096",
            "--core=0",
            "--",
            "nice",
            "-n",
            "10",
            bwrap,
            *userns.bwrap_args(*namespaces),
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
        ]
    )
    cmd.fds += namespaces
    # The private /tmp first: binds below may live under the host's /tmp (a checkout or a
    # venv there) and must land on top of it, not be hidden by it.
    cmd.argv += ["--proc", "/proc", "--dev", "/dev", *_tmp(confined.tmp), "--dir", RUN_DIR]
    _system(cmd)
    _python(cmd)
    _tools(cmd)
    cmd.bind("--bind", workspace, "/workspace")
    cmd.bind("--bind", sandbox_dir / "in", f"{RUN_DIR}/in")
    cmd.bind("--ro-bind", sandbox_dir / "out", f"{RUN_DIR}/out")
    cmd.bind("--bind", sandbox_dir / "session", SESSION_DIR)
    cmd.bind("--bind", outbox, OUTBOX_DIR)
    if trust is not None:
        _trust(cmd, trust)
    cmd.report_child()
    secret_fd = cmd.data("", secret.encode(), "")
    os.set_inheritable(secret_fd, True)
    _seccomp(cmd)
    # The root is a tmpfs bwrap assembled: freeze it so /, /etc and friends are read-only too.
    cmd.argv += [
        "--remount-ro",
        "/",
        "--chdir",
        "/workspace",
        "--",
        *userns.RUNTIME_IDENTITY,
        sys.executable,
        "-m",
        "netclode_sandbox",
    ]
    if confined.cgroup_procs:
        cmd.argv = join_then(confined.cgroup_procs, cmd.argv)
    env = {
        "PATH": f"{TOOLS_DIR}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/workspace",
        "USER": "agent",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NETCLODE_LISTEN_SOCKET": f"{RUN_DIR}/in/sandbox.sock",
        "NETCLODE_CONTROL_SOCKET": f"{RUN_DIR}/out/control.sock",
        "NETCLODE_SECRET_FD": str(secret_fd),
        "NETCLODE_WORKSPACE": "/workspace",
        "NETCLODE_AGENT_UID": str(userns.AGENT_UID),
        "NETCLODE_OUTBOX": OUTBOX_DIR,
        "NETCLODE_AUTH_PROXY": AUTH_PROXY,
        "NETCLODE_PROXY_SOCKET": PROXY_SOCKET,
        **dict.fromkeys(PROXY_ENV, f"http://{AUTH_PROXY}"),
        "NO_PROXY": NO_PROXY,
        "no_proxy": NO_PROXY,
    }
    if trust is not None:
        env |= dict.fromkeys(CA_BUNDLE_ENV, CA_BUNDLE) | {"NODE_EXTRA_CA_CERTS": CA_CERT}
    return cmd, env


def _tmp(tmp: Path | None) -> list[str]:
    # Anyone's, as a /tmp is: the sandbox's uids are not the root that mounts it.
    return ["--bind", str(tmp), "/tmp"] if tmp else ["--perms", "1777", "--tmpfs", "/tmp"]  # noqa: S108


def _seccomp(cmd: Command) -> None:
    """The filter bwrap installs just before it execs the sandbox's first process."""
    fd = seccomp.program_fd()
    cmd.fds.append(fd)
    cmd.argv += ["--seccomp", str(fd)]


def _trust(cmd: Command, trust: ProxyTrust) -> None:
    _open_dirs(cmd, Path(CA_DIR))
    cmd.bind("--ro-bind", trust.ca_cert, CA_CERT)
    cmd.bind("--ro-bind", trust.bundle, CA_BUNDLE)
    if Path(SYSTEM_CAS).is_file():  # bound over it: OpenSSL's default file, git, curl, apt
        cmd.bind("--ro-bind", trust.bundle, SYSTEM_CAS)


def _system(cmd: Command) -> None:
    cmd.bind("--ro-bind", Path("/usr"), "/usr")
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/") / name
        if top.is_symlink():
            cmd.argv += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            cmd.bind("--ro-bind", top, str(top))
    _open_dirs(cmd, Path("/etc"))
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            cmd.bind("--ro-bind", Path("/etc") / name, f"/etc/{name}")
    for data, dest in ((PASSWD, "/etc/passwd"), (GROUP, "/etc/group"), (HOSTS, "/etc/hosts")):
        cmd.argv += ["--perms", "0644"]  # else 0600: the host's root's, unreadable inside
        cmd.data("--ro-bind-data", data.encode(), dest)


def _python(cmd: Command) -> None:
    """The interpreter, the venv, and the source trees the runtime imports, at their
    host paths, so the venv's own path entries keep working inside."""
    trees = {Path(sys.base_prefix), Path(sys.prefix)}
    for tree in sorted(trees):
        if not tree.is_relative_to("/usr"):
            _open_dirs(cmd, tree.parent)
            cmd.bind("--ro-bind", tree, str(tree))
    for package in sandbox_packages():
        _open_dirs(cmd, package.parent)
        cmd.bind("--ro-bind", package, str(package))


def sandbox_packages() -> list[Path]:
    """Our source trees a sandbox sees: the runtime, then the protocol it speaks."""
    return [Path(m.__path__[0]) for m in (netclode_sandbox, netclode_protocol)]


def opencode_binary() -> Path:
    """Where scripts/setup.sh installs the OpenCode server in this checkout."""
    return Path(netclode_local.__file__).resolve().parents[2] / OPENCODE


def _tools(cmd: Command) -> None:
    """The OpenCode server, when installed, as `opencode` on the sandbox's PATH."""
    if opencode_binary().is_file():
        _open_dirs(cmd, Path(TOOLS_DIR))
        cmd.bind("--ro-bind", opencode_binary(), f"{TOOLS_DIR}/opencode")


def _open_dirs(cmd: Command, directory: Path) -> None:
    """Creates `directory` and those above it as 0755 before anything is bound in them:
    bwrap would otherwise make them 0700 (or copy the host's /root, 0700), closed to the
    sandbox's uids, which are not root."""
    for path in [*reversed(directory.parents[:-1]), directory]:
        cmd.argv += ["--dir", str(path)]


def init_pidfd(info_fd: int, timeout: float = INFO_TIMEOUT_S) -> int | None:
    """A pidfd for the sandbox's init, from bwrap's --info-fd report (closes `info_fd`).

    Killing bwrap alone is not enough: within its first milliseconds its child has not yet
    re-armed --die-with-parent (a credential change clears it), so a sandbox stopped that
    early would live on with init as its parent. Killing the init ends its whole pid
    namespace; a pidfd names exactly that process, however late the kill comes. None when
    bwrap failed before it had a child.
    """
    try:
        report = _read_to_end(info_fd, timeout)
    finally:
        os.close(info_fd)
    try:
        return os.pidfd_open(int(json.loads(report)["child-pid"]))
    except (ValueError, KeyError, TypeError, ProcessLookupError):
        return None


def _read_to_end(fd: int, timeout: float) -> bytes:
    """What is written to `fd` until its writer closes it (or `timeout` runs out)."""
    data = b""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data
