"""The secret proxy process: mitmproxy's own runner and command line, with only the addons
the secret proxy needs.

    python -m netclode_secret_proxy.runner [--set option=value ...] [--listen-port N]

`mitmdump` loads some thirty addons, most for interactive use (playback, map-local, the
onboarding app, scripts, saving flows), and mitmproxy offers every event, several per
request, to each one. Offering them only to these cut ~0.9 ms off every proxied request
(bench/proxy_latency.py), and leaves nothing to switch on that the proxy was not reviewed
with: `--set map_local=...` or `-s script.py` are refused as unknown options, and so is a
misspelt option (mitmproxy itself would keep it, waiting for an addon that never comes).

The event loop is uvloop: every request is a dozen socket reads, writes and task steps on
the proxy's one loop, and uvloop's cost ~6% less of the proxy's CPU per request than
asyncio's own selector loop (the two side by side, same run, on a busy 2-core host).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Callable, Sequence

import uvloop
from mitmproxy import addonmanager, exceptions, hooks, master, options
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    errorcheck,
    next_layer,
    proxyserver,
    termlog,
    tlsconfig,
)
from mitmproxy.tools import cmdline
from mitmproxy.tools.main import run

from netclode_secret_proxy.addon import SecretProxy


class HookTable(addonmanager.AddonManager):
    """mitmproxy's addon manager, with each event's handlers looked up once.

    mitmproxy finds an event's handlers anew for every event, walking every addon with
    `getattr`, and follows each flow event with an `update` event; a request raises eight
    events, so that walk was a good part of the proxy's own time per request. The chain only
    changes through add/remove/clear, which drop the table. Each handler still runs under
    mitmproxy's `safecall` (an addon error is logged, never raised into the proxy) and
    `AddonHalt` still stops the event.
    """

    def __init__(self, owner: master.Master) -> None:
        super().__init__(owner)
        self._handlers: dict[str, list[Callable]] = {}

    def add(self, *addons) -> None:
        super().add(*addons)
        self._handlers.clear()  # after: the chain as it now is

    def remove(self, addon) -> None:
        super().remove(addon)
        self._handlers.clear()

    def clear(self) -> None:
        super().clear()
        self._handlers.clear()

    def handlers(self, event: hooks.Hook) -> list[Callable]:
        found = self._handlers.get(event.name)
        if found is None:
            found = [func for addon in self.chain for _, func in self._iter_hooks(addon, event)]
            self._handlers[event.name] = found
        return found

    async def trigger_event(self, event: hooks.Hook) -> None:
        for func in self.handlers(event):
            try:
                with addonmanager.safecall():
                    result = func(*event.args())
                    if result is not None and inspect.isawaitable(result):
                        await result
            except exceptions.AddonHalt:
                return


class SecretProxyMaster(master.Master):
    """The addon chain: mitmproxy's core, the proxy server and its TLS, then ours.

    Block refuses clients from public addresses (only sandboxes may connect) and
    DisableH2C refuses cleartext HTTP/2 upgrades; ErrorCheck makes a failed start (a busy
    port, a bad option) exit instead of serving nothing.
    """

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts)
        self.addons = HookTable(self)
        self._termlog_addon = termlog.TermLog()
        self.addons.add(
            self._termlog_addon,
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
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    run(SecretProxyMaster, command_line, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
