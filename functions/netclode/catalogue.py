"""The model catalogue: which models each agent backend can run here (`ListModels`).

One owner for model listings. The models come from a models.dev catalogue (its public
`api.json`: provider id -> models with their capabilities), fetched from
NETCLODE_MODELS_CATALOGUE_URL within FETCH_TIMEOUT_S and kept FRESH_S; when it is slow,
unreachable or malformed the snapshot shipped in the package (models-snapshot.json) answers
instead, so a listing never waits on the internet and works offline (`off` skips the fetch).
Ollama's local models come from the configured Ollama itself.

Each backend names models its own way (features reference §6.4): the Claude SDK bare
Anthropic ids, the native loop and OpenCode `provider/model`, Copilot bare GitHub ids or
`<id>:anthropic`, Codex `<id>:api|oauth:<effort>`. A model whose key (or sign-in) is
missing is listed but marked unavailable, with what it needs, so users see what to add.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx

from netclode_protocol.providers import KNOWN_PROVIDERS, MODEL_NAME, PROVIDERS, ProviderSettings
from netclode_protocol.settings import read_text
from netclode_protocol.v1 import common_pb2

log = logging.getLogger(__name__)

CATALOGUE_URL_ENV = "NETCLODE_MODELS_CATALOGUE_URL"
DEFAULT_CATALOGUE_URL = "https://models.dev/api.json"
OFF = "off"
FETCH_TIMEOUT_S = 2.0
FRESH_S = 3600.0
# After a failed fetch the snapshot answers this long before the next try, so an
# unreachable catalogue costs one timeout per minute, not one per listing.
RETRY_S = 60.0
MAX_BYTES = 16 * 1024 * 1024
SNAPSHOT = Path(__file__).with_name("models-snapshot.json")
# The key each catalogue source needs, by our key names (the proxy's): the providers
# table's, one owner.
SOURCE_KEYS = {p.name: p.key_env for p in KNOWN_PROVIDERS.values() if p.key_env}
SOURCES = ("anthropic", "openai", "mistral", "zai", "opencode", "github-copilot")
OPENCODE_SOURCES = ("anthropic", "openai", "mistral", "zai")
THINKING_VARIANTS = {"high": "high thinking", "max": "max thinking"}
CODEX_EFFORTS = {"low": "Low", "medium": "Med", "high": "High", "xhigh": "xHigh"}
CODEX_MODES = {"api": "API key", "oauth": "ChatGPT sign-in"}
CODEX_SIGN_IN = "netclode auth codex"
OLLAMA_TIMEOUT_S = 2.0
OLLAMA_CACHE_S = 30.0


@dataclass(frozen=True)
class Model:
    """One catalogue model, as much of it as a listing shows."""

    id: str
    name: str
    reasoning: bool = False
    vision: bool = False
    tools: bool = True
    free: bool = False  # priced at zero (OpenCode Zen's free tier)


Catalogue = dict[str, tuple[Model, ...]]


# -- the catalogue: fetched, cached, or the snapshot -------------------------------------


def parse(doc: object) -> Catalogue:
    """The sources Netclode uses from a models.dev `api.json` document; a source that is
    missing, malformed or without one usable model is left out (the caller falls back to
    the snapshot's)."""
    if not isinstance(doc, dict):
        raise ValueError("the catalogue is not a JSON object")
    out: Catalogue = {}
    for source in SOURCES:
        entry = doc.get(source)
        models = entry.get("models") if isinstance(entry, dict) else None
        if isinstance(models, dict):
            parsed = (_model(m) for m in models.values() if isinstance(m, dict))
            if usable := tuple(m for m in parsed if m is not None):
                out[source] = usable
    return out


def _model(raw: dict) -> Model | None:
    model_id = raw.get("id")
    if not isinstance(model_id, str) or not MODEL_NAME.fullmatch(model_id):
        return None
    inputs = (raw.get("modalities") or {}).get("input") or []
    cost = raw.get("cost") or {}
    name = raw.get("name")
    return Model(
        id=model_id,
        name=name if isinstance(name, str) and name else model_id,
        reasoning=raw.get("reasoning") is True,
        vision=raw.get("attachment") is True or "image" in inputs,
        tools=raw.get("tool_call") is not False,
        free=bool(cost) and cost.get("input") == 0 and cost.get("output") == 0,
    )


@cache
def snapshot() -> Catalogue:
    """The catalogue shipped in the package."""
    return parse(json.loads(SNAPSHOT.read_text()))


_cache: dict[str, tuple[float, Catalogue]] = {}
_cache_lock = threading.Lock()


def catalogue() -> Catalogue:
    """The current catalogue: a fresh fetch, the cached one, or the snapshot; each source
    the fetched document lacks keeps the snapshot's models."""
    url = read_text(CATALOGUE_URL_ENV) or DEFAULT_CATALOGUE_URL
    if url == OFF:
        return snapshot()
    with _cache_lock:  # one fetch at a time: concurrent listings wait for it
        hit = _cache.get(url)
        if hit and time.monotonic() < hit[0]:
            return hit[1]
        try:
            fresh, keep = snapshot() | parse(_fetch(url)), FRESH_S
        except (httpx.HTTPError, ValueError, TimeoutError) as exc:
            log.warning("model catalogue %s unusable (%s): using the shipped snapshot", url, exc)
            fresh, keep = snapshot(), RETRY_S
        _cache[url] = (time.monotonic() + keep, fresh)
        return fresh


def _fetch(url: str) -> object:
    """The JSON at `url`, or TimeoutError after FETCH_TIMEOUT_S in all (a server that
    trickles its answer is given up on too; the download finishes in the background)."""
    result: list[object] = []
    failure: list[Exception] = []

    def download() -> None:
        try:
            result.append(json.loads(_download(url)))
        except (httpx.HTTPError, ValueError) as exc:
            failure.append(exc)

    worker = threading.Thread(target=download, name="models-catalogue", daemon=True)
    worker.start()
    worker.join(FETCH_TIMEOUT_S)
    if failure:
        raise failure[0]
    if not result:
        raise TimeoutError(f"no answer within {FETCH_TIMEOUT_S:g} s")
    return result[0]


def _download(url: str) -> bytes:
    body = bytearray()
    with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=True) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise ValueError(f"the catalogue is larger than {MAX_BYTES} bytes")
    return bytes(body)


# -- what a backend lists ----------------------------------------------------------------


def held(settings: ProviderSettings, key_env: str) -> bool:
    """Whether the secret proxy holds `key_env` (as NETCLODE_PROVIDERS reports it)."""
    return any(
        p.key_env == key_env and settings.configured(p.name) for p in KNOWN_PROVIDERS.values()
    )


def list_models(
    sdk_type: int, settings: ProviderSettings | None = None, codex_signed_in: bool = False
) -> list[common_pb2.ModelInfo]:
    """`ListModels` for `sdk_type` (unspecified lists the default backend's, Claude's);
    `codex_signed_in`: whether Codex's ChatGPT sign-in is usable (netclode.codexauth)."""
    settings = settings or ProviderSettings.from_env()
    if sdk_type == common_pb2.SDK_TYPE_CODEX:
        return _codex(catalogue(), settings, codex_signed_in)
    lister = LISTERS.get(sdk_type, _claude)
    return lister(catalogue(), settings)


def _info(
    model: Model, model_id: str, source: str, need: str, have: bool, name: str = ""
) -> common_pb2.ModelInfo:
    return common_pb2.ModelInfo(
        id=model_id,
        name=name or model.name,
        provider=source,
        capabilities=capabilities(model.tools, model.reasoning, model.vision),
        available=have,
        missing_key="" if have else need,
    )


def _source(
    cat: Catalogue, settings: ProviderSettings, source: str, *, prefixed: bool
) -> list[common_pb2.ModelInfo]:
    key = SOURCE_KEYS[source]
    have = held(settings, key)
    return [
        _info(m, f"{source}/{m.id}" if prefixed else m.id, source, key, have)
        for m in cat.get(source, ())
    ]


def _claude(cat: Catalogue, settings: ProviderSettings) -> list[common_pb2.ModelInfo]:
    return _source(cat, settings, "anthropic", prefixed=False)


def _native(cat: Catalogue, settings: ProviderSettings) -> list[common_pb2.ModelInfo]:
    models = [
        info
        for provider, spec in PROVIDERS.items()
        if provider in cat and spec.native
        for info in _source(cat, settings, provider, prefixed=True)
    ]
    return models + _ollama(settings)


def _opencode(cat: Catalogue, settings: ProviderSettings) -> list[common_pb2.ModelInfo]:
    """Zen always (its free models need no key), the keyed providers, thinking variants of
    Anthropic's reasoning models, then Ollama."""
    zen_key = SOURCE_KEYS["opencode"]
    zen_paid = held(settings, zen_key)
    models = [
        _info(m, f"opencode/{m.id}", "opencode", zen_key, m.free or zen_paid)
        for m in cat.get("opencode", ())
    ]
    for source in OPENCODE_SOURCES:
        models += _source(cat, settings, source, prefixed=True)
    key = SOURCE_KEYS["anthropic"]
    have = held(settings, key)
    for m in cat.get("anthropic", ()):
        if m.reasoning:
            models += [
                _info(m, f"anthropic/{m.id}:{v}", "anthropic", key, have, f"{m.name} ({label})")
                for v, label in THINKING_VARIANTS.items()
            ]
    return models + _ollama(settings)


def _copilot(cat: Catalogue, settings: ProviderSettings) -> list[common_pb2.ModelInfo]:
    """GitHub's Copilot models (bare ids), then Anthropic's through the BYOK backend."""
    models = _source(cat, settings, "github-copilot", prefixed=False)
    key = SOURCE_KEYS["anthropic"]
    have = held(settings, key)
    return models + [
        _info(m, f"{m.id}:anthropic", "anthropic", key, have, f"{m.name} (Anthropic key)")
        for m in cat.get("anthropic", ())
    ]


def _codex(
    cat: Catalogue, settings: ProviderSettings, signed_in: bool
) -> list[common_pb2.ModelInfo]:
    """OpenAI's Codex models, each per auth mode and reasoning effort."""
    access = {"api": (SOURCE_KEYS["openai"], held(settings, SOURCE_KEYS["openai"]))}
    access["oauth"] = (CODEX_SIGN_IN, signed_in)
    return [
        _info(m, f"{m.id}:{mode}:{effort}", "openai", need, have, f"{m.name} ({how}, {label})")
        for m in cat.get("openai", ())
        if "codex" in m.id
        for mode, how in CODEX_MODES.items()
        for need, have in [access[mode]]
        for effort, label in CODEX_EFFORTS.items()
    ]


LISTERS: dict[int, Callable[[Catalogue, ProviderSettings], list[common_pb2.ModelInfo]]] = {
    common_pb2.SDK_TYPE_CLAUDE: _claude,
    common_pb2.SDK_TYPE_NATIVE: _native,
    common_pb2.SDK_TYPE_OPENCODE: _opencode,
    common_pb2.SDK_TYPE_COPILOT: _copilot,
}


def capabilities(tools: bool, reasoning: bool, vision: bool = False) -> list[str]:
    caps = ["chat", "code"]
    caps += ["tools"] if tools else []
    caps += ["vision"] if vision else []
    caps += ["reasoning"] if reasoning else []
    return caps


# -- Ollama's local models ---------------------------------------------------------------

_ollama_cache: dict[str, tuple[float, list[common_pb2.ModelInfo]]] = {}
_ollama_lock = threading.Lock()


def _ollama(settings: ProviderSettings) -> list[common_pb2.ModelInfo]:
    """Ollama's local models (`/api/tags`, capabilities from `/api/show`) when it is
    configured, cached briefly. An unreachable Ollama lists nothing rather than failing
    the whole listing."""
    base = settings.base_urls.get("ollama")
    if not base:
        return []
    with _ollama_lock:
        hit = _ollama_cache.get(base)
        if hit and time.monotonic() - hit[0] < OLLAMA_CACHE_S:
            return hit[1]
    try:
        models = _fetch_ollama(base.rstrip("/"))
    except (httpx.HTTPError, ValueError, KeyError):
        models = []
    with _ollama_lock:
        _ollama_cache[base] = (time.monotonic(), models)
    return models


def _fetch_ollama(base: str) -> list[common_pb2.ModelInfo]:
    with httpx.Client(timeout=OLLAMA_TIMEOUT_S) as client:
        tags = client.get(f"{base}/api/tags").raise_for_status().json()["models"]
        return [_ollama_info(client, base, tag) for tag in tags]


def _ollama_info(client: httpx.Client, base: str, tag: dict) -> common_pb2.ModelInfo:
    show = client.post(f"{base}/api/show", json={"model": tag["name"]})
    caps: Iterable[str] = show.json().get("capabilities", []) if show.is_success else []
    caps = set(caps)
    size = tag.get("details", {}).get("parameter_size", "")
    return common_pb2.ModelInfo(
        id=f"ollama/{tag['name']}",
        name=f"{tag['name']} ({size})" if size else tag["name"],
        provider="ollama",
        capabilities=capabilities("tools" in caps, "thinking" in caps, "vision" in caps),
        downloaded=True,
        size_bytes=int(tag.get("size", 0)),
        available=True,
    )
