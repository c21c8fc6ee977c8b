"""RBAC contract: every Kubernetes call a function makes is granted to the ServiceAccount its
Knative Service runs as, and nothing more is granted.

Each function's real code (the objects its entry point builds) runs against kmock with the
function's identity; kmock's request log gives the calls (verb, API group, resource,
namespace), which are checked against the Roles and bindings of the production build of
knative/. The kubelet and the snapshot controller are played by helpers with their own
identity, so their calls are not counted. Each kind of mistake is seeded once to show the
check catches it.
"""

from __future__ import annotations

import base64
import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import pytest
import redis
from kubernetes import client

from netclode.auth.tokens import USER, Principal
from netclode.config import Settings
from netclode.drivers.kube_manifests import KubernetesSettings
from netclode.drivers.kubernetes import KubernetesDriver
from netclode.sessions.afterturn import AfterTurn
from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.port_service import PortService
from netclode.sessions.reports import Ingest
from netclode.sessions.service import SessionService
from netclode.sessions.snapshot_service import SnapshotService
from netclode.sessions.snapshots import Snapshots
from netclode.store.sessions import SessionRecord
from netclode.warmpool import WarmPool
from netclode_protocol.errors import NetclodeError
from netclode_protocol.v1 import agent_pb2, common_pb2, events_pb2
from tests.kubernetes.conftest import NAMESPACE, ConnectUnaryHandler, Emulator
from tests.manifests.conftest import KNATIVE, kustomize
from tests.support import rbac
from tests.support.net import free_port

Docs = list[dict[str, Any]]
S = common_pb2
HELPER_TOKEN = "system:kube-controllers"  # the kubelet and the snapshot controller
OWNER = Principal("p-alice", "alice", USER)
SNAPSHOTS = ("snapshot.storage.k8s.io", "v1", NAMESPACE, "volumesnapshots")


@pytest.fixture(scope="module")
def manifests() -> Docs:
    return kustomize(KNATIVE / "overlays" / "production")


def api_client(url: str, token: str) -> client.ApiClient:
    """What a pod's in-cluster config gives: the API URL and, if mounted, a bearer token."""
    config = client.Configuration(host=url)
    if token:
        config.api_key = {"authorization": token}
        config.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(config)


def token_of(account: rbac.Account) -> str:
    return f"{account.namespace}:{account.name}" if account.token else ""


def recorded(kube_api: Emulator) -> list[rbac.Call]:
    """Every call in kmock's log but the helpers'."""
    return [
        rbac.call_of(
            r.method.value,
            (
                r.resource.group or "",
                r.namespace or "",
                r.resource.plural,
                r.name or "",
                r.subresource or "",
            ),
            dict(r.params),
        )
        for r in list(kube_api.handler)
        if r.headers.get("Authorization") != f"Bearer {HELPER_TOKEN}"
    ]


class Runtime(ConnectUnaryHandler):
    """The sandbox runtime behind a pod's bridge: Health says ready, Assign and Prompt
    accept (the prompt ids taken are kept, in order); only for the secrets of pods the
    kubelet started."""

    secrets: set[str] = set()
    prompts: list[str] = []
    replies = {
        "/netclode.v1.SandboxService/Health": agent_pb2.HealthResponse(ready=True),
        "/netclode.v1.SandboxService/Assign": agent_pb2.AssignResponse(),
        "/netclode.v1.SandboxService/Prompt": agent_pb2.PromptResponse(),
    }

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        reply = self.replies.get(self.path)
        if self.headers.get("Authorization", "").removeprefix("Bearer ") not in self.secrets:
            self.reply(401, b'{"code": "unauthenticated", "message": "bad secret"}', "json")
        elif reply is None:
            self.reply(404, b'{"code": "unimplemented", "message": "no such method"}', "json")
        else:
            if self.path.endswith("/Prompt"):
                self.prompts.append(agent_pb2.PromptRequest.FromString(body).prompt_id)
            self.reply(200, reply.SerializeToString(), "proto")


@contextmanager
def cluster_helpers(kube_api: Emulator, runtime_port: int) -> Iterator[None]:
    """The kubelet (new sandbox pods run, at 127.0.0.1, with the runtime answering) and the
    snapshot controller (new VolumeSnapshots are cut), as background loops."""
    helper = api_client(kube_api.url, HELPER_TOKEN)
    core, custom = client.CoreV1Api(helper), client.CustomObjectsApi(helper)
    server = ThreadingHTTPServer(("127.0.0.1", runtime_port), Runtime)
    Runtime.prompts.clear()  # prompt ids are stream cursors: another session's may recur
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.02):
            for pod in core.list_namespaced_pod(NAMESPACE).items:
                if pod.status is None or pod.status.phase is None:
                    secret = core.read_namespaced_secret(pod.metadata.name, NAMESPACE)
                    Runtime.secrets.add(base64.b64decode(secret.data["secret"]).decode())
                    status = {"phase": "Running", "podIP": "127.0.0.1"}
                    core.patch_namespaced_pod_status(
                        pod.metadata.name, NAMESPACE, {"status": status}
                    )
            for snap in custom.list_namespaced_custom_object(*SNAPSHOTS)["items"]:
                if not (snap.get("status") or {}).get("readyToUse"):
                    status = {"readyToUse": True, "restoreSize": "1Gi"}
                    name = snap["metadata"]["name"]
                    custom.patch_namespaced_custom_object(*SNAPSHOTS, name, {"status": status})

    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=loop, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        for thread in threads:
            thread.join(10)
        helper.close()


def settings_for(redis_url: str, **overrides: Any) -> Settings:
    return Settings(
        redis_url=redis_url,
        sandbox_driver="kubernetes",
        ingest_url="http://ingest.netclode.svc.cluster.local/ingest",
        **overrides,
    )


def driver_as(kube_api: Emulator, settings: Settings, token: str, port: int) -> KubernetesDriver:
    kube = KubernetesSettings(namespace=NAMESPACE, runtime_port=port, snapshot_ready_timeout=10)
    return KubernetesDriver(settings, api_client=api_client(kube_api.url, token), kube=kube)


def session(life: Lifecycle, **fields: Any) -> SessionRecord:
    record = SessionRecord(
        id=f"{uuid.uuid4().hex[:8]}-abc", name="s", owner=OWNER.name, owner_id=OWNER.id, **fields
    )
    life.store.create(record)
    return record


def wait_settled(life: Lifecycle, session_id: str) -> None:
    """Until no background start is left (CREATING or RESUMING)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record = life.store.get(session_id)
        if record and record.status not in (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING):
            return
        time.sleep(0.02)
    raise AssertionError(f"session {session_id} still starting: {life.store.get(session_id)}")


# -- what each function does --------------------------------------------------------------


def wait_prompted(prompt_id: str) -> None:
    """Until the sandbox runtime has been handed `prompt_id`."""
    deadline = time.monotonic() + 30
    while prompt_id not in Runtime.prompts:
        assert time.monotonic() < deadline, f"{prompt_id} never reached the sandbox"
        time.sleep(0.02)


def run_ingest(kube_api: Emulator, r: redis.Redis, redis_url: str, token: str, port: int) -> None:
    """Three prompts queued by the api; two turns end with a retention of one. After each
    end (in production's background after-turn worker) the snapshot is cut, the older one
    removed, and the sandbox gets its next prompt: the third one's arrival comes after all
    of the second turn's after-turn calls."""
    settings = settings_for(redis_url, snapshot_retention=1)
    life = Lifecycle(settings, r, driver_as(kube_api, settings, token, port))
    api = SessionService(settings, r, driver_as(kube_api, settings, HELPER_TOKEN, port))
    ingest = Ingest(settings, life, AfterTurn(life))
    with cluster_helpers(kube_api, port), pytest.MonkeyPatch.context() as env:
        env.setenv("NETCLODE_PROVIDERS", "anthropic")  # the secret proxy holds its key
        record = session(api.life)
        api.life.provision(record.id)  # the sandbox (and workspace) the session has
        prompts = [api.send_prompt(OWNER, record.id, f"turn {n}").cursor for n in (1, 2, 3)]
        for seq, (prompt_id, next_id) in enumerate(pairwise(prompts), start=1):
            wait_prompted(prompt_id)
            done = events_pb2.TurnCompletedPayload(prompt_id=prompt_id)
            batch = agent_pb2.PublishRequest(
                publisher_id="runtime",
                seq=seq,
                items=[agent_pb2.AgentOutput(turn_completed=done)],
            )
            assert len(ingest.apply(record.id, batch)) == 1
            wait_prompted(next_id)
    assert len(Snapshots(life).list(record.id)) == 1


def run_pool(kube_api: Emulator, r: redis.Redis, redis_url: str, token: str, port: int) -> None:
    """A tick fills the pool; the sandbox (serving a preview by then) dies and the next tick
    replaces it; the session sweep runs."""
    settings = settings_for(redis_url, pool_size=1)
    driver = driver_as(kube_api, settings, token, port)
    pool = WarmPool(settings, r)
    with cluster_helpers(kube_api, port):
        first = pool.reconcile(driver)
        assert first.ready, first
        driver_as(kube_api, settings, HELPER_TOKEN, port).expose_port(first.ready[0], 8000)
        core = client.CoreV1Api(api_client(kube_api.url, HELPER_TOKEN))
        dead = {"status": {"phase": "Failed"}}
        core.patch_namespaced_pod_status(f"sbx-{first.ready[0]}", NAMESPACE, dead)
        second = pool.reconcile(driver)
        assert second.removed == first.ready and second.ready, second
        SessionService(settings, r, driver).reconcile()


def run_api(kube_api: Emulator, r: redis.Redis, redis_url: str, token: str, port: int) -> None:
    """A live session: previews exposed and removed, a git call, a fork and a restore from
    its snapshot; then everything deleted."""
    settings = settings_for(redis_url)
    service = SessionService(settings, r, driver_as(kube_api, settings, token, port))
    helper_life = Lifecycle(settings, r, driver_as(kube_api, settings, HELPER_TOKEN, port))
    with cluster_helpers(kube_api, port):
        record = session(helper_life)
        helper_life.provision(record.id)  # the sandbox the session already had
        record = service.get(OWNER, record.id)
        assert record.sandbox, record
        snap = Snapshots(helper_life).take(record, 1, "0-1", "first")
        ports = PortService(service.life)
        ports.expose(OWNER, record.id, 8000)
        ports.unexpose(OWNER, record.id, 8000)
        with pytest.raises(NetclodeError):
            service.git_status(OWNER, record.id)  # the runtime stand-in has no git
        fork = SnapshotService(service).fork(OWNER, record.id, snap.id, "")
        SnapshotService(service).restore(OWNER, record.id, snap.id)
        for session_id in (fork.id, record.id):
            wait_settled(service.life, session_id)
            service.delete(OWNER, session_id)


SCENARIOS: dict[str, Callable[..., None]] = {
    "api": run_api,
    "pool": run_pool,
    "ingest": run_ingest,
}


def calls_of(
    function: str, docs: Docs, kube_api: Emulator, r: redis.Redis, redis_url: str
) -> list[rbac.Call]:
    account = rbac.function_accounts(docs)[function]
    SCENARIOS[function](kube_api, r, redis_url, token_of(account), free_port())
    return recorded(kube_api)


# -- the contract --------------------------------------------------------------------------


def test_functions_without_a_scenario_get_no_api_access(manifests: Docs) -> None:
    """The others never build a sandbox driver: they must not be able to call the API."""
    for function, account in rbac.function_accounts(manifests).items():
        if function in SCENARIOS:
            continue
        assert not account.token, f"{function} gets an API token it never uses"
        assert rbac.grants(manifests, account) == [], f"{function} is granted access"


@pytest.mark.parametrize("function", sorted(SCENARIOS))
def test_every_call_is_granted_and_every_grant_used(
    function: str, manifests: Docs, kube_api: Emulator, redis_client, redis_url: str
) -> None:
    calls = calls_of(function, manifests, kube_api, redis_client, redis_url)
    assert calls, f"{function}'s scenario made no Kubernetes call"
    assert rbac.violations(manifests, function, calls) == []
    account = rbac.function_accounts(manifests)[function]
    users = [f for f, a in rbac.function_accounts(manifests).items() if a == account]
    assert users == [function], f"{function} shares its ServiceAccount with {users}"
    assert rbac.unused(manifests, account, calls) == []


# -- seeded mistakes: each is caught ------------------------------------------------------


def _objects(docs: Docs, kind: str, name: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]


def _snapshot_rule(docs: Docs) -> dict[str, Any]:
    (role,) = _objects(docs, "Role", "ingest")
    return next(r for r in role["rules"] if "volumesnapshots" in r["resources"])


def drop_verb(docs: Docs) -> None:
    _snapshot_rule(docs)["verbs"].remove("create")


def drop_resource(docs: Docs) -> None:
    _snapshot_rule(docs)["resources"] = ["persistentvolumeclaims"]


def wrong_namespace(docs: Docs) -> None:
    for kind in ("Role", "RoleBinding"):
        for doc in _objects(docs, kind, "ingest"):
            doc["metadata"]["namespace"] = "default"


def drop_binding(docs: Docs) -> None:
    docs.remove(_objects(docs, "RoleBinding", "ingest")[0])


def no_token(docs: Docs) -> None:
    (account,) = _objects(docs, "ServiceAccount", "netclode-ingest")
    account["automountServiceAccountToken"] = False


MISTAKES = {
    drop_verb: "may not create volumesnapshots.snapshot.storage.k8s.io in namespace netclode",
    drop_resource: "may not get volumesnapshots.snapshot.storage.k8s.io in namespace netclode",
    wrong_namespace: "may not create volumesnapshots.snapshot.storage.k8s.io in namespace",
    drop_binding: "may not delete volumesnapshots.snapshot.storage.k8s.io in namespace",
    no_token: "gets no token (automountServiceAccountToken: false)",
}


@pytest.mark.parametrize("mistake", list(MISTAKES), ids=lambda m: m.__name__)
def test_a_seeded_mistake_is_caught(
    mistake: Callable[[Docs], None],
    manifests: Docs,
    kube_api: Emulator,
    redis_client,
    redis_url: str,
) -> None:
    """The ingest function's real calls against manifests with one mistake in them."""
    docs = copy.deepcopy(manifests)
    mistake(docs)
    calls = calls_of("ingest", docs, kube_api, redis_client, redis_url)
    found = rbac.violations(docs, "ingest", calls)
    assert any(MISTAKES[mistake] in v for v in found), found
