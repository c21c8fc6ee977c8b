"""Every setting a Netclode process reads from its environment, in one typed table, and the
one reader every deployable uses.

Why one table: the README's settings section and the configuration contract
(tests/ansible/test_config_contract.py) are generated from it, so a setting cannot be read
without being documented, nor set on a cluster without being read. Netclode's own settings
all start with `NETCLODE_`; the others keep the name their owner gives them (Knative,
functions-framework, the XDG spec, and the providers' keys and base URLs, which the
secret proxy holds and the agent SDKs read under those names).

Pure stdlib: the sandbox runtime and the secret proxy import it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

# The deployables: who reads a setting.
FUNCTIONS = "functions"  # the Knative functions (api, ingest, pool, webhook, bot, ...)
LOCAL = "local"  # the local stack: supervisor and sandbox host
PROXY = "secret-proxy"
RUNTIME = "sandbox-runtime"
CLI = "cli"
DEPLOYABLES = (FUNCTIONS, LOCAL, PROXY, RUNTIME, CLI)

PREFIX = "NETCLODE_"
TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")


class ConfigurationError(SystemExit):
    """A setting's value is unusable: the process stops with this one line."""


class Setting(NamedTuple):
    """One setting. A named tuple, not a dataclass: `dataclasses` imports `inspect` and
    `ast`, over 1 MiB of every sandbox runtime (which reads its wiring here)."""

    name: str
    type: type  # str, int, float or bool
    default: str | int | float | bool | None  # None: computed when read (see default_doc)
    readers: tuple[str, ...]
    help: str
    # Whose name it is when not Netclode's (then it keeps that name, without our prefix).
    origin: str = ""
    secret: bool = False
    minimum: int | None = None
    default_doc: str = ""  # the default in words, when it is computed

    @property
    def default_text(self) -> str:
        if self.default_doc:
            return self.default_doc
        if self.type is bool:
            return "true" if self.default else "false"
        return "" if self.default is None else str(self.default)


def _s(
    name: str,
    kind: type,
    default: str | int | float | bool | None,
    readers: tuple[str, ...],
    help: str,
    **extra: str | int | bool,
) -> Setting:
    return Setting(name, kind, default, readers, help, **extra)  # type: ignore[arg-type]


F, L, P, R, C = (FUNCTIONS,), (LOCAL,), (PROXY,), (RUNTIME,), (CLI,)
PROVIDER = "the provider (its agent SDKs read this name; the secret proxy holds the key)"
PROVIDER_URL = "the provider (the agent SDKs read this name; handed on to sessions)"
XDG = "the XDG Base Directory spec"

TABLE: tuple[Setting, ...] = (
    # -- the control plane --------------------------------------------------------------
    _s("NETCLODE_REDIS_URL", str, "redis://127.0.0.1:6379/0", F + P, "Valkey holding all state."),
    _s("NETCLODE_BROKER_URL", str, "", F, "Where functions publish CloudEvents (the Broker)."),
    _s("NETCLODE_SANDBOX_DRIVER", str, "local", F, "`local` (bubblewrap) or `kubernetes`."),
    _s(
        "NETCLODE_DATA_DIR",
        str,
        None,
        F,
        "The local sandbox driver's data (workspaces, snapshots).",
        default_doc="$XDG_DATA_HOME/netclode",
    ),
    _s("NETCLODE_INGEST_URL", str, "", F, "The ingest function's URL as sandboxes see it."),
    _s("NETCLODE_API_URL", str, "", F, "The api function's URL, for the GitHub bot."),
    _s("NETCLODE_MAX_ACTIVE_SESSIONS", int, 5, F, "Active sessions in all.", minimum=1),
    _s(
        "NETCLODE_MAX_ACTIVE_SESSIONS_PER_USER",
        int,
        0,
        F,
        "Active sessions one user may hold (0: no quota).",
        minimum=0,
    ),
    _s(
        "NETCLODE_IDLE_TIMEOUT_MINUTES",
        int,
        0,
        F,
        "Pause sessions idle this long (0: never).",
        minimum=0,
    ),
    _s("NETCLODE_POOL_SIZE", int, 2, F, "Warm sandboxes kept ready.", minimum=0),
    _s("NETCLODE_MAX_PROMPT_BYTES", int, 100_000, F, "Largest prompt accepted.", minimum=1),
    _s(
        "NETCLODE_SNAPSHOT_RETENTION",
        int,
        10,
        F,
        "Snapshots a session keeps (oldest go first).",
        minimum=1,
    ),
    _s(
        "NETCLODE_TRUSTED_PROXIES",
        str,
        "",
        F,
        "Comma-separated networks of the proxies in front of the functions (X-Forwarded-For).",
    ),
    _s(
        "NETCLODE_DEFAULT_VCPUS",
        int,
        4,
        F,
        "CPUs a session's sandbox gets unless it asks (.env: KATA_VM_CPUS).",
        minimum=1,
    ),
    _s(
        "NETCLODE_DEFAULT_MEMORY_MB",
        int,
        4096,
        F,
        "Memory a session's sandbox gets unless it asks (.env: KATA_VM_MEMORY_MB).",
        minimum=512,
    ),
    _s(
        "NETCLODE_MAX_VCPUS",
        int,
        None,
        F,
        "The most CPUs a session may ask for.",
        minimum=1,
        default_doc="half the host's CPUs",
    ),
    _s(
        "NETCLODE_MAX_MEMORY_MB",
        int,
        None,
        F,
        "The most memory a session may ask for.",
        minimum=512,
        default_doc="a quarter of the host's memory",
    ),
    _s(
        "NETCLODE_PROVIDERS",
        str,
        "",
        F,
        "Comma-separated providers whose key the secret proxy holds.",
    ),
    _s(
        "NETCLODE_MODELS_CATALOGUE_URL",
        str,
        "",
        F,
        "Models catalogue to fetch (empty: models.dev, else the packaged snapshot).",
    ),
    _s("NETCLODE_ADMIN_TOKEN", str, "", F, "The admin API token.", secret=True),
    _s("NETCLODE_BOT_TOKEN", str, "", F, "The GitHub bot's own API token.", secret=True),
    _s("NETCLODE_PROXY_CONTROL_URL", str, "", F, "The secret proxy's control endpoint."),
    _s(
        "NETCLODE_PROXY_CONTROL_TOKEN",
        str,
        "",
        F + P,
        "Guards the secret proxy's control endpoint (32+ characters).",
        secret=True,
    ),
    # -- the kubernetes sandbox driver --------------------------------------------------
    _s("NETCLODE_K8S_NAMESPACE", str, "netclode", F, "Namespace of the sandboxes."),
    _s(
        "NETCLODE_K8S_CONTEXT",
        str,
        "netclode",
        F,
        "kubeconfig context outside a pod (in a pod: its ServiceAccount).",
    ),
    _s("NETCLODE_SANDBOX_IMAGE", str, "netclode-sandbox:latest", F, "The sandbox image."),
    _s("NETCLODE_RUNTIME_CLASS", str, "kata", F, "RuntimeClass of sandbox pods."),
    _s("NETCLODE_STORAGE_CLASS", str, "", F, "StorageClass of workspaces (empty: the default)."),
    _s("NETCLODE_WORKSPACE_SIZE", str, "10Gi", F, "Size of a workspace volume."),
    _s(
        "NETCLODE_SECRET_PROXY_ADDR",
        str,
        "",
        F + L,
        "host:port of the secret proxy sandboxes go through (empty: none locally; "
        "the kubernetes driver's secret-proxy.netclode.svc.cluster.local:8080).",
    ),
    _s(
        "NETCLODE_SNAPSHOT_CLASS",
        str,
        "netclode-workspaces",
        F,
        "VolumeSnapshotClass of workspace snapshots.",
    ),
    _s(
        "NETCLODE_PREVIEW_TAILNET",
        bool,
        False,
        F,
        "Preview Services are exposed on the tailnet.",
    ),
    # -- GitHub -------------------------------------------------------------------------
    _s(
        "NETCLODE_GITHUB_WEBHOOK_SECRET",
        str,
        "",
        F,
        "Secret GitHub signs webhook deliveries with (.env: GITHUB_WEBHOOK_SECRET).",
        secret=True,
    ),
    _s(
        "NETCLODE_GITHUB_WEBHOOK_MAX_BYTES",
        int,
        25 * 1024 * 1024,
        F,
        "Largest webhook body accepted.",
        minimum=1,
    ),
    _s("NETCLODE_GITHUB_BOT_NAME", str, "netclode", F, "The App's name (@mention)."),
    _s(
        "NETCLODE_GITHUB_API_URL",
        str,
        "https://api.github.com",
        F + P,
        "GitHub's REST API.",
    ),
    _s("NETCLODE_GITHUB_APP_ID", str, "", F, "The GitHub App's id (.env: GITHUB_APP_ID)."),
    _s(
        "NETCLODE_GITHUB_APP_PRIVATE_KEY",
        str,
        "",
        F,
        "The App's PEM key (.env: GITHUB_APP_PRIVATE_KEY_B64).",
        secret=True,
    ),
    _s(
        "NETCLODE_GITHUB_APP_PRIVATE_KEY_FILE",
        str,
        "",
        F,
        "A file holding the App's PEM key, instead of the key itself.",
    ),
    _s(
        "NETCLODE_GITHUB_INSTALLATION_ID",
        int,
        0,
        F,
        "The App installation used when a delivery names none (.env: GITHUB_INSTALLATION_ID).",
        minimum=0,
    ),
    _s(
        "NETCLODE_GITHUB_SESSION_SDK",
        str,
        "",
        F,
        "SDK of the bot's sessions (empty: the server's default).",
    ),
    _s(
        "NETCLODE_GITHUB_SESSION_MODEL",
        str,
        "",
        F,
        "Model of the bot's sessions (empty: the SDK's default).",
    ),
    _s(
        "NETCLODE_GITHUB_REPO_SESSIONS",
        str,
        "",
        F,
        'JSON {"owner/repo": {"sdk": ..., "model": ...}} overriding the two above.',
    ),
    _s(
        "NETCLODE_GITHUB_MAX_CONCURRENT_SESSIONS",
        int,
        5,
        F,
        "Bot sessions running at once (.env: MAX_CONCURRENT_GITHUB_SESSIONS).",
        minimum=1,
    ),
    _s(
        "NETCLODE_GITHUB_SESSION_TIMEOUT_SECONDS",
        int,
        600,
        F,
        "How long a bot session may run.",
        minimum=1,
    ),
    _s(
        "NETCLODE_GITHUB_START_LEASE_SECONDS",
        int,
        120,
        F,
        "A bot workflow still creating its session after this long was lost.",
        minimum=1,
    ),
    _s(
        "GITHUB_TOKEN",
        str,
        "",
        F + L,
        "A personal token for sessions' repositories when no App is set up.",
        origin="GitHub (the name git tooling reads; a session gets a placeholder)",
        secret=True,
    ),
    # -- the local stack ----------------------------------------------------------------
    _s(
        "NETCLODE_API_PORT",
        int,
        7400,
        L,
        "Port of the local stack's api (0: any free one).",
        minimum=0,
    ),
    _s(
        "NETCLODE_MANIFESTS",
        str,
        "",
        L,
        "The Knative manifests the local stack serves (empty: knative/base).",
    ),
    _s(
        "NETCLODE_SECRETS_FILE",
        str,
        "",
        L + P,
        "Dotenv file with the real provider keys (empty locally: <config>/secrets.env).",
    ),
    _s(
        "NETCLODE_PROXY_UPSTREAM_CA",
        str,
        "",
        L,
        "CA bundle the local secret proxy trusts upstream (empty: the system's).",
    ),
    _s(
        "NETCLODE_SANDBOX_UID_BASE",
        int,
        1_048_576,
        L,
        "First host uid of local sandboxes (two per slot).",
        minimum=1,
    ),
    _s("NETCLODE_SANDBOX_PIDS", int, 1024, L, "Processes a local sandbox may run.", minimum=16),
    _s("NETCLODE_SANDBOX_TMP_MB", int, 1024, L, "Size of a local sandbox's /tmp.", minimum=1),
    _s(
        "NETCLODE_SANDBOX_WORKSPACE_MB",
        int,
        10240,
        L,
        "Size of a local sandbox's workspace image.",
        minimum=64,
    ),
    _s(
        "NETCLODE_SANDBOX_HOST_SOCKET",
        str,
        "",
        F,  # the local driver's host layout (drivers/hostlayout.py), which the host uses too
        "The sandbox host's socket (empty: in the runtime directory).",
    ),
    _s(
        "NETCLODE_SECRET_PROXY_CONFDIR",
        str,
        "",
        L,
        "The secret proxy's mitmproxy directory (its CA), for the sandbox host.",
    ),
    # -- the secret proxy ---------------------------------------------------------------
    _s(
        "NETCLODE_PROXY_ALLOW_ADDRESSES",
        str,
        "",
        L + P,
        "Comma-separated host:port a sandbox may reach although private (e.g. Ollama).",
    ),
    _s(
        "NETCLODE_PROXY_EGRESS_HOSTS",
        str,
        "",
        P,
        "Comma-separated hosts sandboxes may reach (`name`, `*.suffix`, address); empty: all.",
    ),
    _s(
        "NETCLODE_PROXY_RESOLVE",
        str,
        "",
        P,
        "Comma-separated name[:port]=address[:port]: dial a name at a fixed address.",
    ),
    _s(
        "NETCLODE_PROXY_KEY_HOSTS",
        str,
        "",
        L + P,
        "Comma-separated KEY=host adding destinations to a key's allow-list.",
    ),
    _s(
        "NETCLODE_PROXY_INJECTIONS_PER_MINUTE",
        int,
        600,
        P,
        "Injections of one key a session may have per minute (0: no limit).",
        minimum=0,
    ),
    _s(
        "NETCLODE_PROXY_TOKEN_CACHE_S",
        float,
        3.0,
        P,
        "Seconds a validated session token is cached (0 < s <= 5): revocation delay.",
    ),
    _s(
        "NETCLODE_PROXY_CONTROL_LISTEN",
        str,
        "",
        P,
        "host:port of the proxy's control endpoint (empty: none).",
    ),
    _s(
        "NETCLODE_PROXY_STATE_DIR",
        str,
        "",
        P,
        "Owner-only directory for the Codex sign-in's tokens (empty: memory only).",
    ),
    _s(
        "NETCLODE_CODEX_ISSUER",
        str,
        "https://auth.openai.com",
        P,
        "OpenAI's auth issuer for Codex sign-in and refresh.",
    ),
    # -- the sandbox runtime (wiring set by the sandbox drivers) ------------------------
    _s("NETCLODE_LISTEN_SOCKET", str, "", R, "Where SandboxService listens."),
    _s("NETCLODE_CONTROL_SOCKET", str, "", R, "The bridge to the ingest function."),
    _s("NETCLODE_INGEST_PATH", str, "", R, "Path prefix of the ingest function's URL."),
    _s("NETCLODE_SECRET_FD", int, None, R, "A pipe holding the runtime's inbound secret."),
    _s("NETCLODE_WORKSPACE", str, "/workspace", R, "The session's workspace."),
    _s("NETCLODE_OUTBOX", str, "", R, "Where unsent event batches wait."),
    _s("NETCLODE_AGENT_UID", str, "", R, "The agent's uid, when it is not the runtime's."),
    _s("NETCLODE_AUTH_PROXY", str, "", R, "host:port of an auth-proxy the runtime serves."),
    _s("NETCLODE_PROXY_SOCKET", str, "", R, "The bridge to the secret proxy."),
    _s("NETCLODE_LLM_MAX_RETRIES", int, 2, R, "Retries of a failed model call.", minimum=0),
    _s(
        "NETCLODE_MODEL_GIVE_UP_S",
        float,
        25.0,
        F + R,
        "Seconds a failing or silent model API may hold a turn before it ends with an error "
        "(a cold local model may need more); the control plane hands it to every sandbox.",
        minimum=10,
    ),
    # -- the CLI ------------------------------------------------------------------------
    _s("NETCLODE_URL", str, "", C, "The API URL (empty: the local stack)."),
    _s("NETCLODE_TOKEN", str, "", C, "The API token (empty: the local stack's).", secret=True),
    # -- names owned by others ----------------------------------------------------------
    _s(
        "K_SINK",
        str,
        "",
        F,
        "Where to publish events when a SinkBinding sets it (wins over NETCLODE_BROKER_URL).",
        origin="Knative (SinkBinding)",
    ),
    _s(
        "THREADS",
        int,
        64,
        F,
        "functions-framework's serving threads; the api keeps 64 for unary calls.",
        origin="functions-framework",
    ),
    _s(
        "XDG_DATA_HOME",
        str,
        "",  # unset: ~/.local/share of the user's home (the reader expands it)
        F + L,
        "Base of local data.",
        origin=XDG,
        default_doc="~/.local/share",
    ),
    _s(
        "XDG_CONFIG_HOME",
        str,
        "",  # unset: ~/.config of the user's home (the reader expands it)
        F + L,
        "Base of local config.",
        origin=XDG,
        default_doc="~/.config",
    ),
    _s(
        "XDG_STATE_HOME",
        str,
        "",  # unset: ~/.local/state of the user's home (the reader expands it)
        F + L,
        "Base of local state.",
        origin=XDG,
        default_doc="~/.local/state",
    ),
    _s(
        "PATH",
        str,
        "",
        R,
        "Where the agent's commands are found (the Codex agent puts its tools first).",
        origin="POSIX",
    ),
    _s(
        "XDG_RUNTIME_DIR",
        str,
        "",
        (FUNCTIONS, LOCAL),  # as NETCLODE_SANDBOX_HOST_SOCKET
        "Base of the local runtime sockets.",
        origin=XDG,
    ),
    *(
        _s(f"{p}_BASE_URL", str, "", F, f"{p.title()}'s API endpoint.", origin=PROVIDER_URL)
        for p in ("ANTHROPIC", "OPENAI", "MISTRAL", "OPENROUTER", "OPENCODE", "ZAI")
    ),
    _s("OLLAMA_URL", str, "", F + L + P, "The Ollama server sessions use.", origin=PROVIDER_URL),
    *(
        _s(key, str, "", L + P, "A provider key.", origin=PROVIDER, secret=True)
        for key in (
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "MISTRAL_API_KEY",
            "OPENCODE_API_KEY",
            "ZAI_API_KEY",
            "GITHUB_COPILOT_TOKEN",
        )
    ),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in TABLE}


def setting(name: str) -> Setting:
    """The table's entry: reading a name it lacks is a programming error, not a user's."""
    try:
        return SETTINGS[name]
    except KeyError:
        raise LookupError(f"{name} is not in netclode_protocol.settings.TABLE") from None


def _raw(name: str, environ: Mapping[str, str] | None) -> str:
    setting(name)
    return (os.environ if environ is None else environ).get(name, "").strip()


def _fail(name: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"configuration error: {name} {problem}")


def read_text(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value, stripped; the table's default when unset or empty."""
    default = setting(name).default
    return _raw(name, environ) or ("" if default is None else str(default))


def read_int(
    name: str, environ: Mapping[str, str] | None = None, default: int | None = None
) -> int:
    """A whole number at or above the table's minimum; `default` stands in for a computed
    one (the table's default is None)."""
    entry = setting(name)
    raw = _raw(name, environ)
    if not raw:
        value = entry.default if default is None else default
        if not isinstance(value, int):
            raise _fail(name, "must be set")
        return value
    try:
        value = int(raw)
    except ValueError:
        raise _fail(name, f"must be a whole number, got {raw!r}") from None
    if entry.minimum is not None and value < entry.minimum:
        raise _fail(name, f"must be at least {entry.minimum}, got {value}")
    return value


def read_float(name: str, environ: Mapping[str, str] | None = None) -> float:
    """A number (seconds and the like) at or above the table's minimum."""
    entry = setting(name)
    raw = _raw(name, environ)
    if not raw:
        return float(entry.default or 0)
    try:
        value = float(raw)
    except ValueError:
        raise _fail(name, f"must be a number, got {raw!r}") from None
    if entry.minimum is not None and not value >= entry.minimum:  # NaN is not either
        raise _fail(name, f"must be at least {entry.minimum}, got {raw}")
    return value


def read_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """true/1/yes or false/0/no, any case; the table's default when unset."""
    raw = _raw(name, environ).lower()
    if not raw:
        return bool(setting(name).default)
    if raw in TRUE or raw in FALSE:
        return raw in TRUE
    raise _fail(name, f"must be true or false, got {raw!r}")
