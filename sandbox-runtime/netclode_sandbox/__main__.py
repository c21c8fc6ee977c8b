"""`python -m netclode_sandbox`: the sandbox runtime, started by the sandbox host or pod.

Reads its wiring from the environment the host set:
  NETCLODE_LISTEN_SOCKET   where SandboxService listens (inside the bound `in/` directory)
  NETCLODE_CONTROL_SOCKET  the bridge to the ingest function (inside `out/`)
  NETCLODE_INGEST_PATH     path prefix of the ingest function's URL, if any
  NETCLODE_SECRET_FD       a pipe holding the inbound bearer secret; read once, then closed
  NETCLODE_WORKSPACE       the persistent workspace (default /workspace)
  NETCLODE_AGENT_UID       the uid the agent's processes run as (see identity.py)
  NETCLODE_OUTBOX          where unsent batches wait, out of the agent's reach (publisher.py)
  NETCLODE_AUTH_PROXY      host:port for the auth-proxy this process serves, if any: a local
                           sandbox's (a pod runs it beside the runtime), see authproxy.py
  NETCLODE_PROXY_SOCKET    the auth-proxy's way to the secret proxy
Everything else in the environment is passed on to commands and the shell.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from netclode_protocol.settings import read_int, read_text
from netclode_sandbox.ondemand import serve_when_used, tcp_listener, unix_listener

WIRING = (
    "NETCLODE_LISTEN_SOCKET",
    "NETCLODE_CONTROL_SOCKET",
    "NETCLODE_INGEST_PATH",
    "NETCLODE_SECRET_FD",
    "NETCLODE_WORKSPACE",
    "NETCLODE_AGENT_UID",
    "NETCLODE_OUTBOX",
    "NETCLODE_AUTH_PROXY",
    "NETCLODE_PROXY_SOCKET",
)


def read_secret(fd: int) -> str:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read(4096).decode().strip()


def main() -> None:
    missing = [name for name in WIRING[:2] + WIRING[3:4] if not read_text(name)]
    if missing:
        sys.exit(f"netclode-sandbox: missing environment: {', '.join(missing)}")
    secret = read_secret(read_int("NETCLODE_SECRET_FD"))
    if not secret:
        sys.exit("netclode-sandbox: the secret pipe was empty")

    from netclode_sandbox import identity
    from netclode_sandbox.inbound import build_server
    from netclode_sandbox.publisher import Publisher
    from netclode_sandbox.service import TOKEN_FILE, SandboxRuntime

    workspace = Path(read_text("NETCLODE_WORKSPACE"))
    outbox = Path(outbox_dir) if (outbox_dir := read_text("NETCLODE_OUTBOX")) else None
    # The publisher's threads keep the runtime's file identity (its outbox and the control
    # socket are the runtime's); every thread started after the drop has the agent's.
    publisher = Publisher(
        read_text("NETCLODE_CONTROL_SOCKET"), read_text("NETCLODE_INGEST_PATH"), outbox
    )
    listen_socket = read_text("NETCLODE_LISTEN_SOCKET")
    serve_on_demand(str(Path(listen_socket).with_name("ports.sock")), TOKEN_FILE)
    identity.drop_files_to_agent()
    base_env = {k: v for k, v in os.environ.items() if k not in WIRING}
    runtime = SandboxRuntime(workspace, base_env, publisher)
    with identity.as_runtime():
        server = build_server(listen_socket, runtime, secret)
    server.serve_forever()


def serve_on_demand(ports_socket: str, token_file: Path) -> None:
    """The preview-port forwarder and, in a local sandbox, the auth-proxy: listening now,
    loaded when first used (ondemand.py). Their sockets and threads are the runtime's
    (started before the drop): the proxy reads the token file and dials the runtime's way
    out, whose socket only the runtime's uid may connect to."""
    serve_when_used(unix_listener(ports_socket), "netclode_sandbox.portforward")
    if address := read_text("NETCLODE_AUTH_PROXY"):
        try:
            listener = tcp_listener(address)
        except (ValueError, OSError) as e:
            sys.exit(f"netclode-sandbox: cannot serve the auth-proxy on {address}: {e}")
        upstream = Path(read_text("NETCLODE_PROXY_SOCKET"))
        serve_when_used(listener, "netclode_sandbox.authproxy", upstream, token_file)


if __name__ == "__main__":
    main()
