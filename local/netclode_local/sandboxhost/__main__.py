"""`python -m netclode_local.sandboxhost --data-dir DIR [--socket PATH]`: run the sandbox host.

Upstreams come from the environment, as for every other deployable:
NETCLODE_INGEST_URL (http://host:port of the ingest function) and, optionally,
NETCLODE_SECRET_PROXY_ADDR (host:port of the secret proxy). SIGTERM stops every sandbox.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from netclode.config import Settings
from netclode.drivers.hostlayout import Layout
from netclode_local.sandboxhost import bytecode
from netclode_local.sandboxhost.host import SandboxHost, Upstreams
from netclode_local.sandboxhost.hostapi import build_server
from netclode_protocol.settings import read_text


def main(argv: list[str] | None = None) -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m netclode_local.sandboxhost")
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir)
    parser.add_argument("--socket", type=Path, default=None)
    args = parser.parse_args(argv)
    upstreams = Upstreams.parse(settings.ingest_url, read_text("NETCLODE_SECRET_PROXY_ADDR"))
    host = SandboxHost(args.data_dir, upstreams)
    compiling = bytecode.start_compiling(bytecode.sandbox_trees())
    # Before the socket appears: whoever sees it may stop the host at once. The handler only
    # unwinds the main thread; the sandboxes are stopped below, outside any signal handler.
    signal.signal(signal.SIGTERM, _unwind)
    signal.signal(signal.SIGINT, _unwind)
    try:
        socket_path = args.socket or Layout(args.data_dir).host_socket
        server = build_server(host, socket_path)
        print(f"sandbox host listening on {socket_path}", flush=True)
        server.serve_forever()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut it short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        compiling.kill()
        host.shutdown()


def _unwind(signum: int, frame: object) -> None:
    sys.exit(0)


if __name__ == "__main__":
    main()
