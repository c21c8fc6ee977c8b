"""kmock (the Kubernetes API emulator) on loopback, and a kubernetes driver pointed at it.

kmock runs on its own asyncio loop in a thread so the synchronous official client (what
the driver uses) can talk to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import kmock
import pytest
from kubernetes import client

from netclode.config import Settings
from netclode.drivers.kube_manifests import KubernetesSettings
from netclode.drivers.kubernetes import KubernetesDriver
from tests.support.net import free_port

NAMESPACE = "netclode"


@dataclass
class Emulator:
    url: str
    api: client.ApiClient
    # kmock's handler: its request log (iterating it) is what the RBAC contract test checks.
    handler: kmock.KubernetesEmulator


@pytest.fixture
def kube_api() -> Iterator[Emulator]:
    started, box = threading.Event(), {}

    async def serve() -> None:
        async with kmock.KubernetesEmulator() as handler, kmock.Server(handler) as server:
            handler.resources.load_bundled()  # so listing a kind with no objects yet works
            for plural in ("services", "revisions"):  # the Knative CRDs, as if installed
                handler.resources[f"serving.knative.dev/v1/{plural}"] = {}
            # The external-snapshotter CRD, as Ansible installs it (roles/storage).
            handler.resources["snapshot.storage.k8s.io/v1/volumesnapshots"] = {}
            box["url"], box["stop"] = str(server.url).rstrip("/"), asyncio.Event()
            box["handler"] = handler
            started.set()
            await asyncio.wait_for(box["stop"].wait(), timeout=120)

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "kmock did not start"
    api = client.ApiClient(client.Configuration(host=box["url"]))
    yield Emulator(box["url"], api, box["handler"])
    api.close()
    loop.call_soon_threadsafe(box["stop"].set)
    thread.join(10)


@pytest.fixture
def runtime_port() -> int:
    return free_port()


@pytest.fixture
def driver(kube_api: Emulator, runtime_port: int) -> KubernetesDriver:
    settings = Settings(
        ingest_url="http://ingest.netclode.svc.cluster.local/ingest",
        max_vcpus=16,
        max_memory_mb=32768,
    )
    kube = KubernetesSettings(namespace=NAMESPACE, runtime_port=runtime_port)
    return KubernetesDriver(settings, api_client=kube_api.api, kube=kube)


@pytest.fixture
def core(kube_api: Emulator) -> client.CoreV1Api:
    return client.CoreV1Api(kube_api.api)


class ConnectUnaryHandler(BaseHTTPRequestHandler):
    """Base of the loopback runtime stand-ins: one Connect unary answer per request."""

    def reply(self, status: int, body: bytes, kind: str) -> None:
        """`kind`: "proto" for a message, "json" for a Connect error."""
        self.send_response(status)
        self.send_header("Content-Type", f"application/{kind}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
