"""The secret proxy process: mitmproxy's own runner and command line, with only the addons
the secret proxy needs.

    python -m netclode_secret_proxy.runner [--set option=value ...] [--listen-port N]

`mitmdump` loads some thirty addons, most for interactive use (playback, map-local, the
onboarding app, scripts, saving flows), and mitmproxy offers every event, several per
request, to each one. Offering them only to these cut ~0.9 ms off every proxied request
(bench/proxy_latency.py), and leaves nothing to switch on that the proxy was not reviewed
with: `--set map_local=...` or `-s script.py` are refused as unknown options, and so is a
misspelt option (mitmproxy itself would keep it, waiting for an addon that never comes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mitmproxy import master, options
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    errorcheck,
    next_layer,
    proxyserver,
    tlsconfig,
)
from mitmproxy.tools import cmdline
from mitmproxy.tools.main import run

from netclode_secret_proxy.addon import SecretProxy


class SecretProxyMaster(master.Master):
    """The addon chain: mitmproxy's core, the proxy server and its TLS, then ours.

    Block refuses clients from public addresses (only sandboxes may connect) and
    DisableH2C refuses cleartext HTTP/2 upgrades; ErrorCheck makes a failed start (a busy
    port, a bad option) exit instead of serving nothing.
    """

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts, with_termlog=True)
        self.addons.add(
            core.Core(),
            block.Block(),
            disable_h2c.DisableH2C(),
            proxyserver.Proxyserver(),
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            errorcheck.ErrorCheck(),
            SecretProxy(),
        )

    async def run(self) -> None:
        if unknown := sorted(self.options.deferred):
            raise SystemExit(f"secret proxy: unknown option(s): {', '.join(unknown)}")
        await super().run()


def command_line(opts: options.Options) -> argparse.ArgumentParser:
    """mitmdump's options, less its filter expressions: this proxy keeps no flows."""
    parser = argparse.ArgumentParser(prog="python -m netclode_secret_proxy.runner")
    cmdline.common_options(parser, opts)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    run(SecretProxyMaster, command_line, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
