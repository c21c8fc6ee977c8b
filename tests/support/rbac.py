"""Kubernetes RBAC evaluated the way the API server does, for the RBAC contract test.

A call (verb, API group, resource, namespace) is allowed for a ServiceAccount when a rule of
a Role bound to it in that namespace, or of a ClusterRole bound to it (cluster-wide, or in
that namespace through a RoleBinding), lists the verb, group and resource. Functions get the
account their Knative Service names, and an API token only if neither the pod spec nor the
account turns automounting off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

Doc = dict[str, Any]
KNATIVE_SERVICE = ("serving.knative.dev/v1", "Service")


@dataclass(frozen=True, order=True)
class Call:
    verb: str
    group: str
    resource: str
    namespace: str  # "" for a cluster-scoped call

    def __str__(self) -> str:
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f"{self.verb} {self.resource}.{self.group or 'core'} {where}"


@dataclass(frozen=True)
class Account:
    """The ServiceAccount a function runs as, and whether its pods get an API token."""

    namespace: str
    name: str
    token: bool


def call_of(method: str, path: tuple[str, str, str, str, str], params: dict[str, str]) -> Call:
    """The call the API server authorizes for an HTTP request; `path` is the request's
    (group, namespace, resource plural, object name, subresource)."""
    group, namespace, plural, name, subresource = path
    verb = {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if name else "deletecollection",
    }.get(method)
    if method == "GET":
        verb = "watch" if params.get("watch") in ("1", "true") else "get" if name else "list"
    resource = f"{plural}/{subresource}" if subresource else plural
    return Call(verb or method.lower(), group, resource, namespace)


def _kind(doc: Doc, kind: str, api_version: str = "") -> bool:
    return doc.get("kind") == kind and (not api_version or doc.get("apiVersion") == api_version)


def function_accounts(docs: list[Doc]) -> dict[str, Account]:
    """Function (Knative Service) name -> the account its pods run as."""
    accounts = {
        (d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
        for d in docs
        if _kind(d, "ServiceAccount")
    }
    out = {}
    for d in docs:
        if not _kind(d, KNATIVE_SERVICE[1], KNATIVE_SERVICE[0]):
            continue
        namespace = d["metadata"].get("namespace", "")
        spec = d["spec"]["template"]["spec"]
        name = spec.get("serviceAccountName", "default")
        account = accounts.get((namespace, name), {})
        mount = spec.get("automountServiceAccountToken")
        if mount is None:
            mount = account.get("automountServiceAccountToken", True)
        out[d["metadata"]["name"]] = Account(namespace, name, bool(mount and account))
    return out


def _binds(binding: Doc, account: Account) -> bool:
    return any(
        s.get("kind") == "ServiceAccount"
        and s.get("name") == account.name
        and s.get("namespace", binding["metadata"].get("namespace")) == account.namespace
        for s in binding.get("subjects") or []
    )


def _role(docs: list[Doc], ref: Doc, namespace: str) -> Doc | None:
    for d in docs:
        if d.get("kind") != ref["kind"] or d["metadata"]["name"] != ref["name"]:
            continue
        if ref["kind"] == "ClusterRole" or d["metadata"].get("namespace") == namespace:
            return d
    return None


def grants(docs: list[Doc], account: Account) -> list[tuple[str | None, Doc]]:
    """(namespace the rule applies in, or None for every namespace; rule) for the account."""
    out: list[tuple[str | None, Doc]] = []
    for binding in docs:
        if binding.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not _binds(binding, account):
            continue
        scope = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role = _role(docs, binding["roleRef"], scope or "")
        out += [(scope, rule) for rule in (role or {}).get("rules") or []]
    return out


def _lists(values: Iterable[str], value: str) -> bool:
    values = list(values or [])
    return "*" in values or value in values


def allows(scope: str | None, rule: Doc, call: Call) -> bool:
    return (
        (scope is None or scope == call.namespace)
        and _lists(rule.get("verbs"), call.verb)
        and _lists(rule.get("apiGroups"), call.group)
        and _lists(rule.get("resources"), call.resource)
        and not rule.get("resourceNames")  # our calls name objects we create: never pinned
    )


def violations(docs: list[Doc], function: str, calls: Iterable[Call]) -> list[str]:
    """Why the function's calls would fail on a cluster with these manifests (empty: none)."""
    calls = sorted(set(calls))
    account = function_accounts(docs)[function]
    who = f"{function} (ServiceAccount {account.name})"
    if calls and not account.token:
        return [f"{who} calls the API but gets no token (automountServiceAccountToken: false)"]
    rules = grants(docs, account)
    return [
        f"{who} may not {call}"
        for call in calls
        if not any(allows(scope, rule, call) for scope, rule in rules)
    ]


def unused(docs: list[Doc], account: Account, calls: Iterable[Call]) -> list[str]:
    """Grants to the account that none of its functions' calls uses: the minimum is exact."""
    done = {(c.verb, c.group, c.resource, c.namespace) for c in calls}
    out = []
    for scope, rule in grants(docs, account):
        for verb, group, resource in product(rule["verbs"], rule["apiGroups"], rule["resources"]):
            if not any(
                (v, g, r) == (verb, group, resource) and scope in (None, ns) for v, g, r, ns in done
            ):
                grant = Call(verb, group, resource, scope or "")
                out.append(f"ServiceAccount {account.name} may {grant} but never does")
    return out
