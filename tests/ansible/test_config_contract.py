"""The configuration contract: what the functions read on a cluster is what knative/ and the
Ansible roles give them, under the same names, every key of the original `.env` is either
read by Ansible or documented as unused, and the settings table
(netclode_protocol.settings) is the truth about both: every name a deployable reads is in
it with that deployable among its readers, every name set on a function or the secret proxy
is in it and read there, and every `NETCLODE_` name in it is read by exactly the
deployables it names.

Four sources, none hand-copied:
- the settings table;
- the code: every environment read of each deployable (AST scan, tests/support/envreads.py):
  the control plane (functions/netclode with the protocol package it shares), the local
  stand-ins (local/netclode_local), the secret proxy, the sandbox runtime and the CLI;
- knative/: the production overlay with every optional component, built by kustomize;
- Ansible: the objects the secrets role puts into the cluster, templated by Ansible itself
  from a `.env` holding every key (a probe play loads the role's variables), the patches
  the netclode role's kustomization adds to knative/ on the host (built with the overlay),
  plus the `.env`-driven settings of group_vars and the roles.

Each fixture under fixtures/config-contract seeds one kind of mistake and names the
violation it must cause.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from netclode.auth.bootstrap import CONFIGURED
from netclode_protocol.providers import GITHUB_TOKEN, KNOWN_PROVIDERS
from netclode_protocol.settings import (
    CLI,
    FUNCTIONS,
    LOCAL,
    PREFIX,
    PROXY,
    RUNTIME,
    TABLE,
    Setting,
)
from netclode_sandbox.__main__ import WIRING
from netclode_secret_proxy.config import OPTIONS
from tests.ansible.conftest import ANSIBLE_DIR, run_ansible
from tests.manifests.conftest import REPO, kustomize, with_components
from tests.support.envreads import EnvReads, scan

FIXTURES = Path(__file__).parent / "fixtures" / "config-contract"
CODE = REPO / "functions" / "netclode"
PROTOCOL_CODE = REPO / "protocol" / "netclode_protocol"
PROXY_CODE = REPO / "secret-proxy" / "netclode_secret_proxy"
RUNTIME_CODE = REPO / "sandbox-runtime" / "netclode_sandbox"
CLI_CODE = REPO / "cli" / "netclode_cli"
LOCAL_CODE = REPO / "local" / "netclode_local"
# Reads the scan cannot resolve, by file: what each one reads.
DYNAMIC = {
    "auth/bootstrap.py": {variable for variable, _, _ in CONFIGURED},
    "providers.py": {p.base_env for p in KNOWN_PROVIDERS.values() if p.base_env},
    "config.py": {f"XDG_{kind}_HOME" for kind in ("DATA", "CONFIG", "STATE")},
}
# Read by the code, deliberately not set on a cluster: the default is right there.
CLUSTER_DEFAULTS = {
    "K_SINK": "set by a SinkBinding, which Netclode does not use (NETCLODE_BROKER_URL is)",
    "NETCLODE_DATA_DIR": "the local sandbox driver's data; the kubernetes driver keeps none",
    "NETCLODE_SANDBOX_HOST_SOCKET": "the local driver's sandbox host; the kubernetes one has none",
    "XDG_RUNTIME_DIR": "where the local driver finds the sandbox host's sockets",
    "XDG_DATA_HOME": "the default of NETCLODE_DATA_DIR",
    "XDG_CONFIG_HOME": "read by the local stack only, through the same helper",
    "XDG_STATE_HOME": "read by the local stack only, through the same helper",
    "NETCLODE_K8S_CONTEXT": "kubeconfig context outside a pod; in a pod the ServiceAccount",
    "NETCLODE_POOL_SIZE": "two warm sandboxes",
    "NETCLODE_MAX_PROMPT_BYTES": "100 kB prompts",
    "NETCLODE_SNAPSHOT_RETENTION": "ten snapshots a session",
    "NETCLODE_RUNTIME_CLASS": "kata, the RuntimeClass in knative/base/security",
    "NETCLODE_WORKSPACE_SIZE": "10Gi workspaces",
    "NETCLODE_MAX_VCPUS": "half the node's CPUs (single node: the host the sandboxes run on)",
    "NETCLODE_MAX_MEMORY_MB": "a quarter of the node's memory, as the original sized its VMs",
    "NETCLODE_SNAPSHOT_CLASS": "netclode-workspaces, the class in knative/cluster",
    "NETCLODE_PREVIEW_TAILNET": "previews stay in the cluster unless Tailscale is set up",
    "NETCLODE_GITHUB_APP_PRIVATE_KEY_FILE": "the alternative to NETCLODE_GITHUB_APP_PRIVATE_KEY",
    "NETCLODE_GITHUB_WEBHOOK_MAX_BYTES": "GitHub's own 25 MB cap",
    "NETCLODE_GITHUB_API_URL": "github.com's API",
    "NETCLODE_GITHUB_BOT_NAME": "@netclode",
    "NETCLODE_GITHUB_SESSION_SDK": "the claude SDK",
    "NETCLODE_GITHUB_SESSION_MODEL": "the SDK's default model",
    "NETCLODE_GITHUB_REPO_SESSIONS": "every repository runs NETCLODE_GITHUB_SESSION_SDK / _MODEL",
    "NETCLODE_GITHUB_SESSION_TIMEOUT_SECONDS": "the bot's default session timeout",
    "NETCLODE_GITHUB_START_LEASE_SECONDS": "the bot's default start lease",
    "ANTHROPIC_BASE_URL": "the provider's public API",
    "OPENAI_BASE_URL": "the provider's public API",
    "MISTRAL_BASE_URL": "the provider's public API",
    "OPENROUTER_BASE_URL": "the provider's public API",
    "NETCLODE_MODELS_CATALOGUE_URL": "models.dev's catalogue, else the snapshot in the package",
    "OPENCODE_BASE_URL": "the provider's public API",
    "ZAI_BASE_URL": "the provider's public API",
}
# The secret proxy reads its settings through one table (config.OPTIONS).
PROXY_DYNAMIC = {"config.py": set(OPTIONS.values())}
# The local stack's and the sandbox runtime's reads the scan cannot resolve.
LOCAL_DYNAMIC = {"stack/components.py": {GITHUB_TOKEN}}
RUNTIME_DYNAMIC = {"__main__.py": {*WIRING[:2], *WIRING[3:4]}}
PROXY_DEFAULTS = {
    "NETCLODE_PROXY_ALLOW_ADDRESSES": "none: sandboxes reach Ollama directly (sandbox-egress)",
    "NETCLODE_PROXY_EGRESS_HOSTS": "every public destination",
    "NETCLODE_PROXY_KEY_HOSTS": "each key's own hosts",
    "NETCLODE_PROXY_INJECTIONS_PER_MINUTE": "600 a minute",
    "NETCLODE_PROXY_TOKEN_CACHE_S": "3 s",
    "NETCLODE_PROXY_RESOLVE": "none: names resolve through the cluster's DNS",
    "NETCLODE_CODEX_ISSUER": "OpenAI's auth issuer",
    "NETCLODE_GITHUB_API_URL": "GitHub's REST API (Copilot status)",
}
# Set by Knative Serving in every revision's container.
KNATIVE_RUNTIME = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
# Given to the functions for functions-framework (and its gunicorn), not for our code (the
# api reads THREADS too: it is in the settings table).
FRAMEWORK = {"FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "THREADS", "WORKERS"}
# The original `.env` keys (shared reference netclode-features.md, ".env (read by
# Ansible)"; CODEX_* as `auth codex` prints them).
SEED_DOTENV = {
    *("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MISTRAL_API_KEY", "OPENCODE_API_KEY"),
    *("ZAI_API_KEY", "GITHUB_COPILOT_TOKEN"),
    *("CODEX_ACCESS_TOKEN", "CODEX_ID_TOKEN", "CODEX_REFRESH_TOKEN"),
    *("TS_OAUTH_CLIENT_ID", "TS_OAUTH_CLIENT_SECRET", "TAILSCALE_AUTHKEY"),
    *("DO_SPACES_ACCESS_KEY", "DO_SPACES_SECRET_KEY", "JUICEFS_BUCKET", "JUICEFS_META_URL"),
    *("DEPLOY_HOST", "SSH_AUTHORIZED_KEYS"),
    *("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY_B64", "GITHUB_INSTALLATION_ID"),
    *("GITHUB_WEBHOOK_SECRET", "GITHUB_TOKEN"),
    *("MAX_ACTIVE_SESSIONS", "MAX_CONCURRENT_GITHUB_SESSIONS", "IDLE_TIMEOUT_MINUTES"),
    *("KATA_VM_CPUS", "KATA_VM_MEMORY_MB"),
    *("NVIDIA_ENABLED", "OLLAMA_ENABLED", "OLLAMA_URL", "MOK_PASSWORD"),
    *("DD_API_KEY", "DD_APP_KEY", "DD_SITE"),
}
# How Ansible reads a `.env` key: `'KEY' | setting(…)`, `netclode_dotenv.KEY` or ['KEY'],
# `(… | dotenv).KEY`, or a key list of the secrets role.
DOTENV_READ = re.compile(
    r"'([A-Z][A-Z0-9_]+)'\s*\|\s*setting\b|(?:netclode_dotenv|dotenv\))(?:\.|\[')([A-Z][A-Z0-9_]+)"
)
SECRETS_KEY_LISTS = (
    "secrets_proxy_keys",
    "secrets_function_keys",
    "secrets_function_settings",
    "secrets_provider_keys",
)
UNUSED_HEADING = "does not use"


@dataclass
class Contract:
    reads: EnvReads
    proxy_reads: EnvReads
    manifests: list[dict[str, Any]]
    ansible_objects: list[dict[str, Any]]
    dotenv_read: set[str]
    dotenv_unused: set[str]
    provider_keys: dict[str, str] = field(default_factory=dict)
    # The other deployables' reads (local stack, sandbox runtime, CLI) and the table.
    other_reads: dict[str, tuple[EnvReads, dict[str, set[str]]]] = field(default_factory=dict)
    table: tuple[Setting, ...] = TABLE


def _objects(contract: Contract) -> dict[tuple[str, str], set[str]]:
    """(kind, name) -> keys of every Secret and ConfigMap knative/ or Ansible makes."""
    found: dict[tuple[str, str], set[str]] = {}
    for doc in contract.manifests + contract.ansible_objects:
        if doc["kind"] in ("Secret", "ConfigMap"):
            keys = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
            found.setdefault((doc["kind"], doc["metadata"]["name"]), set()).update(keys)
    return found


def _is_ksvc(doc: dict[str, Any]) -> bool:
    return doc["apiVersion"] == "serving.knative.dev/v1" and doc["kind"] == "Service"


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] in ("Deployment", "StatefulSet") or _is_ksvc(doc):
        return doc["spec"]["template"]["spec"]
    return None


def _reference_violations(contract: Contract) -> list[str]:
    """Every Secret/ConfigMap (and key) a workload names must be made by someone."""
    objects = _objects(contract)
    found = []

    def need(owner: str, kind: str, name: str, key: str | None = None) -> None:
        if (kind, name) not in objects:
            found.append(f"{owner}: {kind} {name} is created by neither knative/ nor Ansible")
        elif key is not None and key not in objects[(kind, name)]:
            found.append(f"{owner}: {kind} {name} has no key {key}")

    for doc in contract.manifests:
        spec = _pod_spec(doc)
        if spec is None:
            continue
        owner = f"{doc['kind']} {doc['metadata']['name']}"
        for container in spec.get("initContainers", []) + spec["containers"]:
            for ref in container.get("envFrom", []):
                kind = "ConfigMap" if "configMapRef" in ref else "Secret"
                need(owner, kind, (ref.get("configMapRef") or ref.get("secretRef"))["name"])
            for env in container.get("env", []):
                source = env.get("valueFrom") or {}
                if "secretKeyRef" in source:
                    need(
                        owner,
                        "Secret",
                        source["secretKeyRef"]["name"],
                        source["secretKeyRef"]["key"],
                    )
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    need(owner, "ConfigMap", ref["name"], ref["key"])
        volumes = {}
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                volumes[volume["name"]] = ("Secret", volume["secret"]["secretName"])
            if "configMap" in volume:
                volumes[volume["name"]] = ("ConfigMap", volume["configMap"]["name"])
        for kind, name in volumes.values():
            need(owner, kind, name)
        for container in spec.get("initContainers", []) + spec["containers"]:
            for file_kind, file_name, key in _mounted_files(container, volumes):
                need(owner, file_kind, file_name, key)
    return found


def _mounted_files(container: dict[str, Any], volumes: dict) -> list[tuple[str, str, str]]:
    """(kind, name, key) for each file of a mounted Secret/ConfigMap that the container's
    command, args or env values name by path: each file is one key of the object."""
    text = json.dumps([container.get("command"), container.get("args"), container.get("env")])
    found = []
    for mount in container.get("volumeMounts", []):
        if mount["name"] in volumes and "subPath" not in mount:
            root = mount["mountPath"].rstrip("/") + "/"
            for key in re.findall(re.escape(root) + r"([\w.-]+)", text):
                found.append((*volumes[mount["name"]], key))
    return found


def provided(contract: Contract) -> set[str]:
    """Every variable a function's container gets on the cluster."""
    objects = _objects(contract)
    names = set(KNATIVE_RUNTIME)
    for doc in contract.manifests:
        if not _is_ksvc(doc):
            continue
        container = doc["spec"]["template"]["spec"]["containers"][0]
        names |= {env["name"] for env in container.get("env", [])}
        for ref in container.get("envFrom", []):
            kind = "ConfigMap" if "configMapRef" in ref else "Secret"
            name = (ref.get("configMapRef") or ref.get("secretRef"))["name"]
            names |= objects.get((kind, name), set())
    return names


def proxy_provided(contract: Contract) -> set[str]:
    """The variables of the secret proxy's container."""
    proxy = next(
        d
        for d in contract.manifests
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "secret-proxy"
    )
    return {env["name"] for env in proxy["spec"]["template"]["spec"]["containers"][0]["env"]}


def _name_violations(
    who: str,
    reads: EnvReads,
    dynamic: dict[str, set[str]],
    given: set[str],
    defaults: dict[str, str],
    not_ours: set[str],
) -> list[str]:
    """Names read but not given (nor defaulted), given but not read, stale defaults."""
    names, found = _read_names(reads, dynamic)
    found += [
        f"{name} is read ({', '.join(reads.names.get(name, ['dynamic']))}) by {who} but "
        "provided by neither knative/ nor Ansible"
        for name in sorted(names - given - set(defaults))
    ]
    found += [
        f"{name} is provided to {who} but never read" for name in sorted(given - names - not_ours)
    ]
    found += [
        f"{name} is listed as defaulted but is {'provided' if name in given else 'not read'}"
        for name in sorted(defaults)
        if name in given or name not in names
    ]
    return found


def _read_names(reads: EnvReads, dynamic: dict[str, set[str]]) -> tuple[set[str], list[str]]:
    """The names `reads` covers, its unresolved reads replaced by what `dynamic` declares;
    and a violation for each unresolved read not declared."""
    names, undeclared = set(reads.names), []
    for location in reads.unresolved:
        file = location.split(":", 1)[0]
        if file in dynamic:
            names |= dynamic[file]
        else:
            undeclared.append(f"declare what {location} reads")
    return names, undeclared


def _table_violations(contract: Contract) -> list[str]:
    """The settings table against the code of every deployable and what the cluster sets."""
    table = {entry.name: entry for entry in contract.table}
    code = {
        FUNCTIONS: (contract.reads, DYNAMIC),
        PROXY: (contract.proxy_reads, PROXY_DYNAMIC),
        **contract.other_reads,
    }
    read_by: dict[str, set[str]] = {}
    for deployable, (reads, dynamic) in code.items():
        for name in _read_names(reads, dynamic)[0]:
            read_by.setdefault(name, set()).add(deployable)
    found = []
    for name, who in sorted(read_by.items()):
        entry = table.get(name)
        if entry is None:
            found.append(
                f"{name} is read by {', '.join(sorted(who))} but not in the settings table"
            )
        elif not who <= set(entry.readers) or (
            name.startswith(PREFIX) and who != set(entry.readers)
        ):
            found.append(
                f"{name}: the settings table says {entry.readers} read it, the code {sorted(who)}"
            )
    found += [
        f"{name} is in the settings table but read by nothing"
        for name in sorted(table.keys() - read_by.keys())
        if name.startswith(PREFIX)
    ]
    given = {
        FUNCTIONS: provided(contract) - KNATIVE_RUNTIME - (FRAMEWORK - table.keys()),
        PROXY: proxy_provided(contract),
    }
    for who, names in given.items():
        found += [
            f"{name} is set on the {who} but the settings table has no {who} reading it"
            for name in sorted(names)
            if name not in table or who not in table[name].readers
        ]
    return found


def violations(contract: Contract) -> list[str]:
    found = _name_violations(
        "the functions",
        contract.reads,
        DYNAMIC,
        provided(contract),
        CLUSTER_DEFAULTS,
        KNATIVE_RUNTIME | FRAMEWORK,
    )
    found += _name_violations(
        "the secret proxy",
        contract.proxy_reads,
        PROXY_DYNAMIC,
        proxy_provided(contract),
        PROXY_DEFAULTS,
        set(),
    )
    found += _reference_violations(contract)
    found += _table_violations(contract)
    for key in sorted(SEED_DOTENV):
        read, unused = key in contract.dotenv_read, key in contract.dotenv_unused
        if read == unused:
            state = "both read by Ansible and" if read else "neither read by Ansible nor"
            found.append(f".env key {key} is {state} documented as unused")
    expected = {name: p.key_env for name, p in KNOWN_PROVIDERS.items() if p.key_env}
    if contract.provider_keys != expected:
        found.append(f"NETCLODE_PROVIDERS maps {contract.provider_keys}, providers.py {expected}")
    return found


# -- the three sources ------------------------------------------------------------------


PROBE = """
- name: Probe the .env settings and the secrets role's objects
  hosts: server
  gather_facts: false
  vars:
    roles_dir: "{{ lookup('ansible.builtin.env', 'PROBE_ROLES') }}"
    secrets_existing: {results: [{stdout: "YWRtaW4="}, {stdout: "Ym90"}]}
    secrets_ca: {results: [{content: "Y3J0"}, {content: "a2V5"}]}
  tasks:
    - name: Load the role variables
      ansible.builtin.include_vars: "{{ roles_dir }}/{{ item }}"
      loop: [secrets/defaults/main.yaml, secrets/vars/main.yaml,
             nvidia/defaults/main.yaml, kata/defaults/main.yaml, netclode/defaults/main.yaml]
    - name: Place the deployment anywhere (only its patches are used)
      ansible.builtin.set_fact:
        netclode_version: probe
        netclode_source_dir: /src
        netclode_deploy_dir: /deploy
    - name: Render the netclode role's kustomization
      ansible.builtin.template:
        src: "{{ roles_dir }}/netclode/templates/kustomization.yaml.j2"
        dest: "{{ lookup('ansible.builtin.env', 'PROBE_KUSTOMIZATION') }}"
        mode: "0600"
      delegate_to: localhost
    - name: Write what they come to
      ansible.builtin.copy:
        dest: "{{ lookup('ansible.builtin.env', 'PROBE_OUT') }}"
        mode: "0600"
        content: >-
          {{ {'objects': secrets_objects, 'deploy_host': deploy_host,
              'ansible_host': hostvars[inventory_hostname].ansible_host,
              'nvidia_enabled': nvidia_enabled, 'ollama_enabled': ollama_enabled,
              'mok': nvidia_mok_password, 'kata_vcpus': kata_default_vcpus,
              'kata_memory': kata_default_memory_mib} | to_json }}
      delegate_to: localhost
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory, ansible_env: dict[str, str]) -> dict:
    """The probe play on the default inventory, with a `.env` holding every seed key and
    every key Ansible reads (DEPLOY_HOST among them), and KATA_VM_CPUS and OLLAMA_ENABLED
    also in the environment (which must win)."""
    tmp = tmp_path_factory.mktemp("probe")
    (tmp / "probe.yaml").write_text(PROBE)
    (tmp / "group_vars").symlink_to(ANSIBLE_DIR / "playbooks" / "group_vars")
    values = {key: f"value-of-{key.lower()}" for key in SEED_DOTENV | dotenv_reads()}
    values |= {"DEPLOY_HOST": "203.0.113.9", "NVIDIA_ENABLED": "true", "OLLAMA_ENABLED": "yes"}
    values |= {"KATA_VM_CPUS": "2", "KATA_VM_MEMORY_MB": "8192", "MAX_ACTIVE_SESSIONS": "7"}
    values["OPENAI_API_KEY"] = ""  # an empty key turns no provider on
    (tmp / ".env").write_text("".join(f"{k}={json.dumps(v)}\n" for k, v in values.items()))
    env = {k: v for k, v in ansible_env.items() if k not in values}
    env |= {"ENV_FILE": str(tmp / ".env"), "PROBE_OUT": str(tmp / "out.json")}
    env |= {"PROBE_KUSTOMIZATION": str(tmp / "kustomization.yaml")}
    env |= {"KATA_VM_CPUS": "3", "OLLAMA_ENABLED": "false"}
    env |= {"PROBE_ROLES": str(ANSIBLE_DIR / "roles"), "ANSIBLE_LOCALHOST_WARNING": "0"}
    result = run_ansible(env, "ansible-playbook", str(tmp / "probe.yaml"), timeout=120)
    assert result.rc == 0, result.output[-3000:]
    out = json.loads((tmp / "out.json").read_text())
    out["patches"] = yaml.safe_load((tmp / "kustomization.yaml").read_text())["patches"]
    return out


def dotenv_reads() -> set[str]:
    text = "\n".join(p.read_text() for p in ANSIBLE_DIR.rglob("*") if p.suffix in (".yaml", ".j2"))
    names = {a or b for a, b in DOTENV_READ.findall(text)}
    defaults = yaml.safe_load((ANSIBLE_DIR / "roles/secrets/defaults/main.yaml").read_text())
    for listed in SECRETS_KEY_LISTS:
        value = defaults[listed]
        names |= set(value.values() if isinstance(value, dict) else value)
    return names


def documented_unused(readme: str) -> set[str]:
    """The backticked keys in the first column of the table under the UNUSED_HEADING line."""
    section = readme[readme.index(UNUSED_HEADING) :]
    rows = re.findall(r"^\|([^|]*)\|", section.split("\n\n", 2)[1], re.M)
    return {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}


def with_patches(directory: Path, patches: list[dict[str, Any]]) -> Path:
    """The overlay in `directory` with the netclode role's patches, as the host builds it."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    (directory / "kustomization.yaml").write_text(
        yaml.safe_dump({**kustomization, "patches": patches})
    )
    return directory


def control_plane_reads(code: Path) -> EnvReads:
    """The functions' reads: their package's and the protocol's (the provider table reads
    each provider's base URL)."""
    reads, shared = scan(code), scan(PROTOCOL_CODE)
    for name, where in shared.names.items():
        reads.names.setdefault(name, []).extend(where)
    reads.unresolved += shared.unresolved
    return reads


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory, probe: dict) -> Contract:
    overlay = with_components(tmp_path_factory.mktemp("build"), ["gpu", "tailscale"])
    built = kustomize(with_patches(overlay, probe["patches"]))
    defaults = yaml.safe_load((ANSIBLE_DIR / "roles/secrets/defaults/main.yaml").read_text())
    return Contract(
        reads=control_plane_reads(CODE),
        proxy_reads=scan(PROXY_CODE),
        manifests=built,
        ansible_objects=probe["objects"],
        dotenv_read=dotenv_reads(),
        dotenv_unused=documented_unused((ANSIBLE_DIR / "README.md").read_text()),
        provider_keys=defaults["secrets_provider_keys"],
        other_reads={
            LOCAL: (scan(LOCAL_CODE), LOCAL_DYNAMIC),
            RUNTIME: (scan(RUNTIME_CODE), RUNTIME_DYNAMIC),
            CLI: (scan(CLI_CODE), {}),
        },
    )


# -- tests ------------------------------------------------------------------------------


def test_the_cluster_gives_the_functions_what_they_read(contract: Contract) -> None:
    assert violations(contract) == []


def test_dotenv_settings_reach_ansible_and_the_environment_wins(probe: dict) -> None:
    assert probe["deploy_host"] == probe["ansible_host"] == "203.0.113.9"
    assert probe["nvidia_enabled"] is True  # from .env
    assert probe["ollama_enabled"] is False  # yes in .env, false in the environment
    assert probe["mok"] == "value-of-mok_password"
    assert (int(probe["kata_vcpus"]), int(probe["kata_memory"])) == (3, 8192)


def test_the_functions_get_the_settings_and_the_providers_of_the_keys_given(
    probe: dict, contract: Contract
) -> None:
    by_name = {o["metadata"]["name"]: o for o in probe["objects"]}
    settings = by_name["netclode-env"]["data"]
    assert settings["NETCLODE_MAX_ACTIVE_SESSIONS"] == "7"  # .env's MAX_ACTIVE_SESSIONS
    # The Kata VM size comes once, with the drop-in's values: the environment wins here too.
    config = next(
        d
        for d in contract.manifests
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "netclode-config"
    )
    assert (
        config["data"]["NETCLODE_DEFAULT_VCPUS"],
        config["data"]["NETCLODE_DEFAULT_MEMORY_MB"],
    ) == ("3", "8192")
    assert "NETCLODE_DEFAULT_VCPUS" not in settings
    # OPENAI_API_KEY is empty in .env: openai stays off; the others have keys.
    assert settings["NETCLODE_PROVIDERS"].split(",") == [
        "anthropic",
        "mistral",
        "openrouter",
        "github-copilot",
        "opencode",
        "zai",
    ]
    internal = by_name["netclode-internal"]["stringData"]
    assert internal["NETCLODE_GITHUB_INSTALLATION_ID"] == "value-of-github_installation_id"
    assert "NETCLODE_INTERNAL_TOKEN" not in internal  # Knative's Broker sends no credential


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_seeded_mistake_is_caught(fixture: Path, contract: Contract, tmp_path: Path) -> None:
    case = yaml.safe_load(fixture.read_text())
    found = violations(seeded(contract, case, tmp_path))
    assert any(case["expect"] in v for v in found), found


def seeded(contract: Contract, case: dict[str, Any], tmp_path: Path) -> Contract:
    """`contract` with the fixture's mistake: documents replacing those of the same kind and
    name (`manifests`, `ansible_objects`), extra code (`code`), `.env` keys dropped from
    the README's unused table (`undocument`), another provider mapping, or settings added
    to the table (`table`: name and readers)."""

    def swap(docs: list[dict], patch: list[dict]) -> list[dict]:
        names = {(d["kind"], d["metadata"]["name"]) for d in patch}
        return [d for d in docs if (d["kind"], d["metadata"]["name"]) not in names] + patch

    result = replace(
        contract,
        manifests=swap(contract.manifests, case.get("manifests", [])),
        ansible_objects=swap(contract.ansible_objects, case.get("ansible_objects", [])),
        dotenv_unused=contract.dotenv_unused - set(case.get("undocument", [])),
        provider_keys=case.get("provider_keys", contract.provider_keys),
        table=contract.table
        + tuple(
            Setting(s["name"], str, "", tuple(s["readers"]), "seeded")
            for s in case.get("table", [])
        ),
    )
    if "code" in case:
        package = tmp_path / "netclode"
        shutil.copytree(CODE, package, ignore=shutil.ignore_patterns("web"))
        (package / "seeded.py").write_text(case["code"])
        result = replace(result, reads=control_plane_reads(package))
    return result


def test_every_dynamic_read_is_still_there(contract: Contract) -> None:
    """DYNAMIC and PROXY_DYNAMIC must not outlive the code they describe."""
    for reads, dynamic in ((contract.reads, DYNAMIC), (contract.proxy_reads, PROXY_DYNAMIC)):
        assert {loc.split(":", 1)[0] for loc in reads.unresolved} == set(dynamic)
