"""`netclode ops ...`: operator views. `pool` and `dead-letters` ask the API (admin token);
`revisions` reads the Knative Services and Revisions straight from the Kubernetes API of
the kubeconfig context `netclode` (what `fetch-kubeconfig.yaml` writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import clock, console, relative, table
from netclode_protocol.v1 import api_pb2

if TYPE_CHECKING:
    from kubernetes import client

SERVING = ("serving.knative.dev", "v1")


@click.group()
def ops() -> None:
    """Operator views: Knative revisions, the warm pool, failed deliveries."""


@ops.command()
@click.option("--context", default="netclode", show_default=True, help="kubeconfig context.")
@click.option("--namespace", "-n", default="netclode", show_default=True)
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Default: ~/.kube/config.")
@json_flag
@pass_app
def revisions(app: App, context: str, namespace: str, kubeconfig: str | None) -> None:
    """Each Knative Service: latest ready revision, traffic split, readiness."""
    rows = revision_rows(_kubernetes(kubeconfig, context), namespace)
    if app.emitted(rows):
        return
    if not rows:
        console.print(f"no Knative Services in namespace {namespace}")
        return
    table(
        ["SERVICE", "LATEST READY", "TRAFFIC", "READY"],
        ([r["service"], r["latest_ready"] or "-", _traffic(r), _ready(r)] for r in rows),
    )


@ops.command()
@json_flag
@pass_app
def pool(app: App) -> None:
    """Warm pool size, ready and claimed sandboxes."""
    status = app.api.call(app.api.ops.pool_status, api_pb2.PoolStatusRequest())
    if app.emitted(status):
        return
    console.print(f"target {status.target_size}, ready {status.ready}, claimed {status.claimed}")
    if status.sandboxes:
        table(
            ["SANDBOX", "STATE", "SESSION", "STARTED"],
            (
                [s.id, s.state, s.session_id or "-", relative(s.created_at)]
                for s in status.sandboxes
            ),
        )


@ops.command("dead-letters")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_flag
@pass_app
def dead_letters(app: App, limit: int) -> None:
    """Recent CloudEvents whose delivery failed after every retry, with the error."""
    reply = app.api.call(app.api.ops.list_dead_letters, api_pb2.ListDeadLettersRequest(limit=limit))
    if app.emitted(list(reply.dead_letters)):
        return
    if not reply.dead_letters:
        console.print("no failed deliveries")
        return
    table(
        ["TIME", "TYPE", "SUBSCRIBER", "ID", "ERROR"],
        (
            [clock(d.time), d.event_type, d.subscriber or "-", d.event_id, d.error or "-"]
            for d in reply.dead_letters
        ),
    )


def _kubernetes(kubeconfig: str | None, context: str) -> client.ApiClient:
    from kubernetes import config  # slow to import: only for this command

    try:
        return config.new_client_from_config(config_file=kubeconfig, context=context)
    except (config.ConfigException, FileNotFoundError) as exc:
        raise click.ClickException(f"cannot use kubeconfig context {context!r}: {exc}") from None


def revision_rows(api: client.ApiClient, namespace: str) -> list[dict[str, Any]]:
    """One row per Knative Service, from its status and its Revisions' Ready conditions."""
    from kubernetes import client

    objects = client.CustomObjectsApi(api)
    try:
        # Custom objects come back as the decoded JSON list (typed `object` by the client).
        services = cast(
            dict[str, Any], objects.list_namespaced_custom_object(*SERVING, namespace, "services")
        )
        revs = cast(
            dict[str, Any], objects.list_namespaced_custom_object(*SERVING, namespace, "revisions")
        )
    except client.ApiException as exc:
        if exc.status == 404:
            raise click.ClickException("Knative Serving is not installed in that cluster") from None
        raise click.ClickException(f"Kubernetes API: {exc.status} {exc.reason}") from None
    ready_by_revision = {r["metadata"]["name"]: _condition(r) for r in revs.get("items", [])}
    rows = []
    for svc in sorted(services.get("items", []), key=lambda s: s["metadata"]["name"]):
        status = svc.get("status", {})
        rows.append(
            {
                "service": svc["metadata"]["name"],
                "latest_ready": status.get("latestReadyRevisionName", ""),
                "latest_created": status.get("latestCreatedRevisionName", ""),
                "traffic": [
                    {
                        "revision": t.get("revisionName", ""),
                        "percent": t.get("percent", 0),
                        "tag": t.get("tag", ""),
                        "ready": ready_by_revision.get(t.get("revisionName", ""), {}),
                    }
                    for t in status.get("traffic", [])
                ],
                "ready": _condition(svc),
            }
        )
    return rows


def _condition(obj: dict[str, Any]) -> dict[str, str]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond.get("type") == "Ready":
            return {k: cond.get(k, "") for k in ("status", "reason", "message")}
    return {"status": "Unknown", "reason": "", "message": "no Ready condition yet"}


def _traffic(row: dict[str, Any]) -> str:
    parts = []
    for t in row["traffic"]:
        tag = f" ({t['tag']})" if t["tag"] else ""
        parts.append(f"{t['revision']} {t['percent']}%{tag}")
    return ", ".join(parts) or "-"


def _ready(row: dict[str, Any]) -> str:
    cond = row["ready"]
    text = "yes" if cond["status"] == "True" else f"no: {cond['reason']} {cond['message']}".strip()
    if row["latest_created"] and row["latest_created"] != row["latest_ready"]:
        text += f" (rolling out {row['latest_created']})"
    return text
