"""LLM providers: which exist, which this deployment has configured, and what a sandbox gets.

The one table of providers, read by the control plane (model listing and validation, the
sandbox env) and by the sandbox's native agent (which API a model string speaks).

The control plane never holds real keys (they live with the secret proxy), so it is told
which providers the proxy holds a key for: `NETCLODE_PROVIDERS` (comma list of provider
names). The local stack derives it from the keys it hands its proxy; a cluster from the keys
in the proxy's Secret. Ollama takes no key: it is available when `OLLAMA_URL` is set. A
sandbox only ever gets the placeholder `NETCLODE_PLACEHOLDER_<KEY>` for a key, plus the
base URL when one is configured.

A provider without its key is reported, not guessed at: the model listing marks it, and a
prompt for it is refused at once with what to add where (SECRETS_HINT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from netclode_protocol.errors import FailedPrecondition, InvalidArgument
from netclode_protocol.settings import ConfigurationError, read_text
from netclode_protocol.v1 import common_pb2

PLACEHOLDER_PREFIX = "NETCLODE_PLACEHOLDER_"
CLAUDE_DEFAULT_MODEL = "claude-sonnet-4-5"
NATIVE_DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
CODEX_DEFAULT_MODEL = "gpt-5.3-codex:api"
COPILOT_DEFAULT_MODEL = "claude-sonnet-4.5"  # on the github backend
COPILOT_ANTHROPIC = ":anthropic"  # the copilot SDK's suffix for Anthropic BYOK models
# A model name as providers spell them (`gpt-5`, `qwen2.5-coder:7b`, `anthropic/claude-x` via
# OpenRouter): it ends up in files, URLs and command lines, so nothing else is taken.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,199}")
SECRETS_HINT = "~/.config/netclode/secrets.env"
NO_PROVIDER_HINT = (
    "No LLM provider is configured, so no prompt can run: add ANTHROPIC_API_KEY=... (or "
    f"OPENAI_API_KEY, MISTRAL_API_KEY, OPENCODE_API_KEY) to {SECRETS_HINT}, or set OLLAMA_URL, "
    "then restart Netclode (netclode down && netclode up)."
)


@dataclass(frozen=True)
class Provider:
    name: str
    # Wire protocol: Anthropic Messages or OpenAI-compatible chat completions.
    api: Literal["anthropic", "openai"]
    key_env: str  # "" when the provider takes no key (Ollama)
    base_env: str
    # The public endpoint when base_env is unset ("" = the SDK's own default; Ollama has none).
    default_base: str = ""
    native: bool = True  # the native agent may use it (`provider/model`)


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("anthropic", "anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
        Provider("openai", "openai", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
        Provider(
            "mistral",
            "openai",
            "MISTRAL_API_KEY",
            "MISTRAL_BASE_URL",
            "https://api.mistral.ai/v1",
        ),
        Provider(
            "openrouter",
            "openai",
            "OPENCODE_API_KEY",  # the secret proxy's name for the OpenCode/OpenRouter key
            "OPENROUTER_BASE_URL",
            "https://openrouter.ai/api/v1",
        ),
        Provider("ollama", "openai", "", "OLLAMA_URL"),
        # GitHub Copilot's own API, for the copilot SDK's github backend only (its CLI signs
        # in with the token and speaks the API itself): no catalogue here, no base URL.
        Provider(
            "github-copilot",
            "openai",
            "GITHUB_COPILOT_TOKEN",
            "",
            "https://api.githubcopilot.com",
            native=False,
        ),
    )
}


# Providers only the OpenCode backend speaks to (through its own provider SDKs).
OPENCODE_ONLY: dict[str, Provider] = {
    p.name: p
    for p in (
        # OpenCode Zen: without a key, its free models take the key "public".
        Provider(
            "opencode",
            "openai",
            "OPENCODE_API_KEY",
            "OPENCODE_BASE_URL",
            "https://opencode.ai/zen/v1",
        ),
        Provider(
            "zai", "openai", "ZAI_API_KEY", "ZAI_BASE_URL", "https://open.bigmodel.cn/api/paas/v4"
        ),
    )
}
KNOWN_PROVIDERS: dict[str, Provider] = PROVIDERS | OPENCODE_ONLY
OPENCODE_PROVIDERS = ("opencode", "anthropic", "openai", "mistral", "zai", "ollama")
OPENCODE_DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
# `:high` / `:max` after an OpenCode model: its thinking budget (tokens).
OPENCODE_EFFORTS = {"high": 16000, "max": 32000}


def placeholder(key_env: str) -> str:
    return f"{PLACEHOLDER_PREFIX}{key_env}"


# A session's own GitHub token: per session (the secret proxy reads it from Redis), sent by
# git as a password and read by gh (and most GitHub tools) from these variables.
GITHUB_TOKEN = "GITHUB_TOKEN"
GITHUB_TOKEN_ENV = ("GH_TOKEN", "GITHUB_TOKEN")


def github_env() -> dict[str, str]:
    """SessionConfig.env entries of a session that has a GitHub token (placeholders)."""
    return {name: placeholder(GITHUB_TOKEN) for name in GITHUB_TOKEN_ENV}


def split_model(sdk_type: int, model: str) -> tuple[Provider, str]:
    """(provider, model name) for a session model; the claude SDK always speaks Anthropic."""
    model = model.strip()
    if sdk_type == common_pb2.SDK_TYPE_OPENCODE:
        return split_opencode(model)[:2]
    if sdk_type == common_pb2.SDK_TYPE_CLAUDE:
        name = model.removeprefix("anthropic/") or CLAUDE_DEFAULT_MODEL
        return PROVIDERS["anthropic"], _model_name(model, name)
    if sdk_type == common_pb2.SDK_TYPE_CODEX:
        codex = codex_model(model)
        return codex.provider, codex.name
    if sdk_type == common_pb2.SDK_TYPE_COPILOT:
        return _split_copilot(model)
    provider_name, sep, name = (model or NATIVE_DEFAULT_MODEL).partition("/")
    if not sep:
        example = f"anthropic/{model[:60]}"
        raise InvalidArgument("model", f"{model[:60]!r} must name its provider, e.g. {example}")
    provider = PROVIDERS.get(provider_name)
    if provider is None or not provider.native:
        known = ", ".join(n for n, p in PROVIDERS.items() if p.native)
        raise InvalidArgument("model", f"unknown provider {provider_name[:60]!r} (known: {known})")
    if not name:
        raise InvalidArgument("model", f"{model[:60]!r} names no model after the provider")
    return provider, _model_name(model, name)


def _split_copilot(model: str) -> tuple[Provider, str]:
    """Copilot models as the original named them: `claude-sonnet-4.5` runs on GitHub
    Copilot's API with the deployment's Copilot token (github backend); `claude-sonnet-4-5:
    anthropic` on Anthropic's API with our Anthropic key (BYOK; the suffix is ours, not the
    model's)."""
    model = model or COPILOT_DEFAULT_MODEL
    if model.endswith(COPILOT_ANTHROPIC):
        name = model.removesuffix(COPILOT_ANTHROPIC)
        if not name:
            raise InvalidArgument(
                "model", f"{model[:60]!r} names no model before {COPILOT_ANTHROPIC}"
            )
        return PROVIDERS["anthropic"], _model_name(model, name)
    return PROVIDERS["github-copilot"], _model_name(model, model)


def copilot_model(provider: Provider, name: str) -> str:
    """A copilot session's model as stored: the inverse of `_split_copilot`."""
    return f"{name}{COPILOT_ANTHROPIC}" if provider.name == "anthropic" else name


def split_opencode(model: str) -> tuple[Provider, str, str]:
    """(provider, model name, effort) of an OpenCode model `provider/model[:high|:max]`;
    effort is "" or a key of OPENCODE_EFFORTS."""
    model = model.strip() or OPENCODE_DEFAULT_MODEL
    provider_name, sep, rest = model.partition("/")
    if not sep or provider_name not in OPENCODE_PROVIDERS:
        known = ", ".join(f"{p}/..." for p in OPENCODE_PROVIDERS)
        raise InvalidArgument("model", f"{model[:60]!r} is not an OpenCode model (one of {known})")
    name, _, effort = rest.rpartition(":")
    if effort not in OPENCODE_EFFORTS:
        name, effort = rest, ""
    if not name:
        raise InvalidArgument("model", f"{model[:60]!r} names no model after the provider")
    return KNOWN_PROVIDERS[provider_name], _model_name(model, name), effort


def _model_name(model: str, name: str) -> str:
    if not MODEL_NAME.fullmatch(name) or {".", ".."} & set(name.split("/")):
        raise InvalidArgument("model", f"{model[:60]!r} is not a model name")
    return name


def keyed_by(keys: set[str] | frozenset[str]) -> list[str]:
    """The providers whose key is among `keys` (key names, never values), in table order:
    what NETCLODE_PROVIDERS says for a secret proxy holding those keys."""
    return [p.name for p in KNOWN_PROVIDERS.values() if p.key_env and p.key_env in keys]


@dataclass(frozen=True)
class ProviderSettings:
    """The control plane's view of the providers: which are on, and their base URLs."""

    enabled: frozenset[str]
    base_urls: dict[str, str]

    @classmethod
    def from_env(cls) -> ProviderSettings:
        listed = {p.strip() for p in read_text("NETCLODE_PROVIDERS").split(",")} - {""}
        bases = {
            n: base
            for n, p in KNOWN_PROVIDERS.items()
            if p.base_env and (base := read_text(p.base_env))
        }
        unknown = listed - {n for n, p in KNOWN_PROVIDERS.items() if p.key_env}
        if unknown:
            raise ConfigurationError(
                f"configuration error: NETCLODE_PROVIDERS names unknown {sorted(unknown)} "
                "(it lists providers whose key the secret proxy holds)"
            )
        keyless = {n for n, p in KNOWN_PROVIDERS.items() if not p.key_env and n in bases}
        return cls(enabled=frozenset(listed | keyless), base_urls=bases)

    def configured(self, provider: str) -> bool:
        return provider in self.enabled

    def missing(self, provider: Provider) -> str:
        """What `provider` lacks on this server, as a user-facing fix; "" when available."""
        if self.configured(provider.name):
            return ""
        if not provider.key_env:
            return (
                f"no {provider.name} server is configured: start Netclode with "
                f"{provider.base_env} set (e.g. {provider.base_env}=http://127.0.0.1:11434)"
            )
        return (
            f"{provider.key_env} is not configured, so {provider.name} models cannot run: add "
            f"{provider.key_env}=... to {SECRETS_HINT} and restart Netclode "
            "(netclode down && netclode up)"
        )


def normalize_model(sdk_type: int, model: str) -> str:
    """The model as sessions store it (the claude SDK's without a provider prefix);
    InvalidArgument when it is not well-formed."""
    if sdk_type == common_pb2.SDK_TYPE_CODEX:
        return codex_model(model).spelled
    if sdk_type == common_pb2.SDK_TYPE_OPENCODE:
        provider, name, effort = split_opencode(model)
        return f"{provider.name}/{name}" + (f":{effort}" if effort else "")
    provider, name = split_model(sdk_type, model)
    if sdk_type == common_pb2.SDK_TYPE_COPILOT:
        return copilot_model(provider, name)
    return name if sdk_type == common_pb2.SDK_TYPE_CLAUDE else f"{provider.name}/{name}"


def require_available(sdk_type: int, model: str, settings: ProviderSettings | None = None) -> None:
    """FailedPrecondition, saying what to configure where, when a turn of `model` could not
    reach its provider here: checked before a prompt is accepted, so none waits in vain."""
    settings = settings or ProviderSettings.from_env()
    provider = split_model(sdk_type, model)[0]
    if provider is CODEX_OAUTH:  # no key: the sign-in is netclode.codexauth's to check
        return
    missing = "" if _zen_free(settings, sdk_type, provider) else settings.missing(provider)
    if missing:
        raise FailedPrecondition(missing)


# Codex (`model:api|oauth[:effort]`): api mode speaks the OpenAI Responses API with the OpenAI
# key; oauth mode uses the ChatGPT sign-in (`netclode auth codex`), whose tokens the secret
# proxy holds and injects: the sandbox only gets the access token's placeholder.
CODEX_MODES = ("api", "oauth")
CODEX_EFFORTS = ("low", "medium", "high", "xhigh")
CODEX_OAUTH = Provider("codex-oauth", "openai", "CODEX_ACCESS_TOKEN", "")
CODEX_ACCOUNT_ENV = "NETCLODE_CODEX_ACCOUNT_ID"  # the ChatGPT account id: not a secret


@dataclass(frozen=True)
class CodexModel:
    name: str
    mode: Literal["api", "oauth"]
    effort: str  # "" = the model's default

    @property
    def provider(self) -> Provider:
        return PROVIDERS["openai"] if self.mode == "api" else CODEX_OAUTH

    @property
    def spelled(self) -> str:
        return ":".join(p for p in (self.name, self.mode, self.effort) if p)


def codex_model(model: str) -> CodexModel:
    """A Codex session model, `model:api|oauth[:effort]`; InvalidArgument when malformed."""
    spelled = model.strip() or CODEX_DEFAULT_MODEL
    parts = spelled.split(":")
    effort = parts.pop() if len(parts) > 2 and parts[-1] in CODEX_EFFORTS else ""
    mode = parts.pop() if len(parts) > 1 else ""
    if mode not in CODEX_MODES:
        example = f"{parts[0][:60]}:api or {parts[0][:60]}:oauth:high"
        raise InvalidArgument(
            "model",
            f"{spelled[:60]!r}: a codex model is model:api|oauth[:low|medium|high|xhigh], "
            f"e.g. {example}",
        )
    name = ":".join(parts)
    return CodexModel(_model_name(spelled, name), mode, effort)  # type: ignore[arg-type]


def codex_oauth_session(sdk_type: int, model: str) -> bool:
    """A Codex session whose model names OAuth mode (`<model>:oauth[:effort]`, as
    codex_model reads it); the secret proxy asks too, to pick the sign-in's credential."""
    if sdk_type != common_pb2.SDK_TYPE_CODEX:
        return False
    try:
        return codex_model(model).mode == "oauth"
    except InvalidArgument:
        return False


def sandbox_env(settings: ProviderSettings, sdk_type: int, model: str) -> dict[str, str]:
    """SessionConfig.env for a session: its provider's placeholder key and base URL only."""
    provider, _ = split_model(sdk_type, model)
    env: dict[str, str] = {}
    if provider.key_env and not _zen_free(settings, sdk_type, provider):
        env[provider.key_env] = placeholder(provider.key_env)
    if base := settings.base_urls.get(provider.name):
        env[provider.base_env] = base
    return env


def _zen_free(settings: ProviderSettings, sdk_type: int, provider: Provider) -> bool:
    """An OpenCode Zen session without a Zen key: its free models, no placeholder to send."""
    return (
        sdk_type == common_pb2.SDK_TYPE_OPENCODE
        and provider.name == "opencode"
        and not settings.configured(provider.name)
    )
