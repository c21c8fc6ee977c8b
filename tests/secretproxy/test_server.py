"""The proxy process runs only what it was reviewed with: nothing more can be switched on."""

from __future__ import annotations

import subprocess

import pytest
from mitmproxy import exceptions, options
from mitmproxy.proxy.layers.http import HttpRequestHook
from mitmproxy.test import tflow

from netclode_secret_proxy.launch import secret_proxy_command
from netclode_secret_proxy.runner import SecretProxyMaster
from tests.support.net import free_port


def start(extra: list[str], tmp_path) -> subprocess.CompletedProcess[str]:
    argv = secret_proxy_command(tmp_path / "conf", free_port(), "redis://127.0.0.1:1/0", None)
    return subprocess.run(argv + extra, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--set", "map_local=|example|/etc"], "map_local"),  # serving host files
        (["--set", "client_replay=/tmp/flows"], "client_replay"),  # replaying requests
        (["--set", "netclode_redis_urll=redis://x"], "netclode_redis_urll"),  # a typo
        (["-s", "/tmp/anything.py"], "-s"),  # loading a script
    ],
)
def test_unknown_options_and_scripts_are_refused_at_start(tmp_path, extra, named):
    result = start(extra, tmp_path)
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert named in error
    assert "Traceback" not in result.stderr


def test_known_options_still_work(tmp_path):
    """The command line itself is sound: it lists the proxy's own options, no others."""
    result = start(["--options"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "netclode_redis_url" in result.stdout
    assert "map_local" not in result.stdout


class Recorder:
    """An addon that records the requests it is offered; `halt` stops the event there."""

    def __init__(self, name: str, calls: list[str], fail: bool = False, halt: bool = False):
        self.name, self.calls, self.fail, self.halt = name, calls, fail, halt

    async def request(self, flow) -> None:
        self.calls.append(self.name)
        if self.fail:
            raise RuntimeError("addon bug")
        if self.halt:
            raise exceptions.AddonHalt


async def test_hook_table_follows_the_chain_and_keeps_mitmproxys_rules():
    """Handlers are looked up once per event, yet an addon added or removed later is seen;
    a failing addon is logged and the next one still runs; AddonHalt ends the event."""
    proxy = SecretProxyMaster(options.Options())
    calls: list[str] = []
    first = Recorder("first", calls, fail=True)
    proxy.addons.add(first)
    flow = tflow.tflow()
    await proxy.addons.handle_lifecycle(HttpRequestHook(flow))
    proxy.addons.add(Recorder("halt", calls, halt=True), Recorder("never", calls))
    await proxy.addons.handle_lifecycle(HttpRequestHook(flow))
    proxy.addons.remove(first)
    await proxy.addons.handle_lifecycle(HttpRequestHook(flow))
    assert calls == ["first", "first", "halt", "halt"]
