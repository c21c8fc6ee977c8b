"""Every command of the seed's operator guide resolves against what we ship.

The commands are copied from the guide into fixtures/operator_guide_commands.txt. Each is
checked statically: make targets exist (`make -n`), label selectors match a pod template in
knative/, namespaces are created by our manifests or Ansible roles, `deploy/<name>` names a
Deployment, playbooks and tags exist, and programs run over SSH are installed by a role.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from tests.manifests.conftest import kustomize, with_components

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
GUIDE = Path(__file__).parent / "fixtures/operator_guide_commands.txt"
COMMANDS = [
    line.strip()
    for line in GUIDE.read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
# Namespace manifests the Ansible roles render (the rest come from knative/).
ROLE_MANIFESTS = {
    "gpu_operator": "gpu-operator.yaml.j2",
    "tailscale_operator": "tailscale-operator.yaml.j2",
}


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Everything a fully enabled deployment applies: knative/ with every component, plus
    the manifests the Ansible roles render (with their defaults and pinned versions)."""
    docs = kustomize(with_components(tmp_path_factory.mktemp("build"), ["gpu", "tailscale"]))
    versions = _yaml(ANSIBLE / "playbooks/group_vars/all/versions.yaml")
    for role, template in ROLE_MANIFESTS.items():
        variables = {
            **versions,
            **_yaml(ANSIBLE / "roles" / role / "defaults/main.yaml"),
            "ansible_managed": "test",
        }
        source = (ANSIBLE / "roles" / role / "templates" / template).read_text()
        rendered = jinja2.Template(source, undefined=jinja2.StrictUndefined).render(variables)
        docs += [d for d in yaml.safe_load_all(rendered) if d]
    return docs


def _pod_templates(docs: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, owner, pod labels) of every workload and Knative Service."""
    kinds = {"Deployment", "StatefulSet", "DaemonSet", "Service"}
    return [
        (
            d["metadata"].get("namespace", ""),
            f"{d['kind']}/{d['metadata']['name']}",
            d["spec"]["template"].get("metadata", {}).get("labels", {}),
        )
        for d in docs
        if d["kind"] in kinds and "template" in d.get("spec", {})
    ]


def _option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in names and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _dry_run(target: str) -> subprocess.CompletedProcess[str]:
    """`make -n target` as an operator's shell runs it: no "Entering directory" lines even
    when the tests themselves run under make (MAKELEVEL set)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _check_make(argv: list[str], _: list[dict[str, Any]]) -> None:
    for target in argv[1:]:
        dry = _dry_run(target)
        assert dry.returncode == 0, f"make {target}: {dry.stderr}"


def _check_kubectl(argv: list[str], docs: list[dict[str, Any]]) -> None:
    namespace = _option(argv, "-n", "--namespace")
    assert namespace, f"{shlex.join(argv)}: the guide always names the namespace"
    created = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    assert namespace in created, f"namespace {namespace} is created by nothing we ship"
    selector = _option(argv, "-l", "--selector")
    if selector:
        wanted = dict(part.split("=", 1) for part in selector.split(","))
        matches = [
            owner
            for ns, owner, labels in _pod_templates(docs)
            if ns == namespace and wanted.items() <= labels.items()
        ]
        assert matches, f"-l {selector} matches no pod template in {namespace}"
    for arg in argv:
        if arg.startswith("deploy/"):
            name = arg.removeprefix("deploy/")
            assert any(
                d["kind"] == "Deployment"
                and d["metadata"]["name"] == name
                and d["metadata"].get("namespace") == namespace
                for d in docs
            ), f"no Deployment {name} in {namespace}"


def _site_tags(playbook: Path) -> set[str]:
    tags: set[str] = set()
    for play in _yaml_list(playbook):
        for entry in play.get("roles", []) + play.get("pre_tasks", []):
            tags.update(entry.get("tags", []))
    return tags


def _yaml_list(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())


def _check_ansible(argv: list[str], _: list[dict[str, Any]]) -> None:
    playbook = ANSIBLE / next(a for a in argv if a.startswith("playbooks/"))
    assert playbook.is_file(), f"{playbook.name} does not exist"
    tag = _option(argv, "--tags", "-t")
    if tag:
        assert tag in _site_tags(playbook), f"{playbook.name} has no tag {tag}"


def _installed_by_roles() -> set[str]:
    """Package names the roles install with apt (from their task files)."""
    names: set[str] = set()
    for tasks in (ANSIBLE / "roles").glob("*/tasks/*.yaml"):
        for task in yaml.safe_load(tasks.read_text()) or []:
            for item in task.get("block", [task]):
                apt = item.get("ansible.builtin.apt") or {}
                packages = apt.get("name", []) if isinstance(apt, dict) else []
                for package in [packages] if isinstance(packages, str) else packages:
                    names.add(re.split(r"[=<>]", package)[0])
    return names


def _check_ssh(argv: list[str], _: list[dict[str, Any]]) -> None:
    host = argv[1].split("@")[-1]
    defaults = _yaml(ANSIBLE / "playbooks/group_vars/all/main.yaml")
    assert host == defaults["tailscale_server_name"], f"{host} is not the host's tailnet name"
    program = argv[2]
    assert program in _installed_by_roles(), f"no role installs {program}"


RESOLVERS: dict[str, Callable[[list[str], list[dict[str, Any]]], None]] = {
    "make": _check_make,
    "kubectl": _check_kubectl,
    "ansible-playbook": _check_ansible,
    "ssh": _check_ssh,
}


def _argv(command: str) -> list[str]:
    """The command without leading VAR=value assignments."""
    argv = shlex.split(command)
    while argv and re.match(r"^[A-Z_]+=", argv[0]):
        argv.pop(0)
    return argv


@pytest.mark.parametrize("command", COMMANDS)
def test_guide_command_resolves(command: str, shipped: list[dict[str, Any]]) -> None:
    argv = _argv(command)
    assert argv[0] in RESOLVERS, f"no check for {argv[0]} commands"
    RESOLVERS[argv[0]](argv, shipped)


def test_the_fixture_covers_what_issue_18_lists() -> None:
    text = " ".join(COMMANDS)
    for needed in [
        "make rollout-control-plane",
        "make rollout-agent",
        "make rollout-github-bot",
        "-l app=control-plane",
        "-l app=github-bot",
        "-l app=ollama",
        "exec deploy/ollama -- ollama pull",
        "exec deploy/ollama -- ollama list",
        "-n gpu-operator",
        "nvtop",
    ]:
        assert needed in text, needed


def test_a_selector_nothing_carries_is_caught(shipped: list[dict[str, Any]]) -> None:
    argv = _argv("kubectl -n netclode logs -l app=control-plane-typo")
    with pytest.raises(AssertionError, match="matches no pod template"):
        _check_kubectl(argv, shipped)


def test_labels_sit_next_to_the_recommended_ones(shipped: list[dict[str, Any]]) -> None:
    for _, owner, labels in _pod_templates(shipped):
        if "app" in labels:
            assert labels.get("app.kubernetes.io/part-of") == "netclode", owner
            assert "app.kubernetes.io/name" in labels, owner


def test_knative_services_are_all_labelled(shipped: list[dict[str, Any]]) -> None:
    apps = {
        owner: labels.get("app")
        for _, owner, labels in _pod_templates(shipped)
        if owner.startswith("Service/")
    }
    assert apps == {
        "Service/api": "control-plane",
        "Service/ingest": "control-plane",
        "Service/pool": "control-plane",
        "Service/deadletter": "control-plane",
        "Service/webhook": "github-bot",
        "Service/bot": "github-bot",
    }


@pytest.mark.parametrize(
    ("target", "app"),
    [("rollout-control-plane", "control-plane"), ("rollout-github-bot", "github-bot")],
)
def test_rollout_targets_roll_exactly_the_labelled_functions(
    target: str, app: str, shipped: list[dict[str, Any]]
) -> None:
    dry = _dry_run(target)
    assert dry.returncode == 0, f"make {target}: {dry.stderr}"
    rolled = set(dry.stdout.split("scripts/rollout.sh functions", 1)[1].split())
    labelled = {
        owner.removeprefix("Service/")
        for _, owner, labels in _pod_templates(shipped)
        if owner.startswith("Service/") and labels.get("app") == app
    }
    assert rolled == labelled
