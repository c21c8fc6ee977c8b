"""The model catalogue: a fresh models.dev catalogue when it answers in time, the shipped
snapshot when not, and each backend's listing in its own model naming (features §6.4)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from netclode.catalogue import CATALOGUE_URL_ENV, SNAPSHOT, list_models, snapshot
from netclode_protocol.providers import ProviderSettings
from netclode_protocol.v1 import common_pb2 as S
from tests.support.net import free_port

NONE = ProviderSettings(enabled=frozenset(), base_urls={})
ANTHROPIC = ProviderSettings(enabled=frozenset({"anthropic"}), base_urls={})
EFFORTS = ("low", "medium", "high", "xhigh")
FRESH = {
    "anthropic": {
        "id": "anthropic",
        "env": ["ANTHROPIC_API_KEY"],
        "models": {
            "claude-next-9": {
                "id": "claude-next-9",
                "name": "Claude Next 9",
                "attachment": True,
                "reasoning": True,
                "tool_call": True,
                "modalities": {"input": ["text", "image"], "output": ["text"]},
            },
            "bad id; rm -rf": {"id": "bad id; rm -rf", "name": "not a model name"},
        },
    },
    "openai": {"id": "openai", "models": {"gpt 9": {"id": "gpt 9"}}},  # nothing usable
    "somebody-else": {"id": "somebody-else", "models": {"x": {"id": "x"}}},
}


class Catalogue:
    """A models.dev stand-in on loopback: serves `doc` at /api.json, counts requests, and
    can hold its answer until released (a catalogue slower than the listing waits)."""

    def __init__(self, doc: object, status: int = 200) -> None:
        self.doc, self.status = doc, status
        self.requests = 0
        self.hold = False
        self.release = threading.Event()
        self.answered = threading.Event()
        catalogue = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                catalogue.requests += 1
                if catalogue.hold:
                    catalogue.release.wait(30)
                body = json.dumps(catalogue.doc).encode()
                self.send_response(catalogue.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                catalogue.answered.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalogue]:
    catalogue = Catalogue(FRESH)
    monkeypatch.setenv(CATALOGUE_URL_ENV, catalogue.url)
    yield catalogue
    catalogue.close()


def ids(models: list[S.ModelInfo]) -> list[str]:
    return [m.id for m in models]


def snapshot_ids(source: str) -> list[str]:
    return [m.id for m in snapshot()[source]]


def test_a_fresh_catalogue_is_used_and_then_cached(served: Catalogue) -> None:
    claude = list_models(S.SDK_TYPE_CLAUDE, ANTHROPIC)
    assert ids(claude) == ["claude-next-9"]  # the unusable id is left out
    assert list(claude[0].capabilities) == ["chat", "code", "tools", "vision", "reasoning"]
    assert (claude[0].name, claude[0].available) == ("Claude Next 9", True)
    # A source the fetched catalogue lacks, or has no usable model of, keeps the snapshot's.
    native = ids(list_models(S.SDK_TYPE_NATIVE, NONE))
    kept = [f"{p}/{i}" for p in ("openai", "mistral") for i in snapshot_ids(p)]
    assert native == ["anthropic/claude-next-9", *kept]
    assert served.requests == 1  # the second listing used the cached catalogue


def test_a_slow_catalogue_falls_back_to_the_snapshot_before_it_answers(
    served: Catalogue,
) -> None:
    served.hold = True
    claude = list_models(S.SDK_TYPE_CLAUDE, ANTHROPIC)
    assert not served.answered.is_set()  # the listing did not wait for the answer
    assert ids(claude) == snapshot_ids("anthropic")
    served.release.set()
    served.answered.wait(30)
    list_models(S.SDK_TYPE_CLAUDE, ANTHROPIC)
    assert served.requests == 1  # a failed fetch is not retried on every listing


@pytest.mark.parametrize("broken", ["unreachable", "error status", "not a catalogue"])
def test_a_broken_catalogue_lists_the_snapshot(
    monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    catalogue = Catalogue(["not", "a", "catalogue"] if broken == "not a catalogue" else FRESH)
    catalogue.status = 503 if broken == "error status" else 200
    url = f"http://127.0.0.1:{free_port()}/api.json" if broken == "unreachable" else catalogue.url
    monkeypatch.setenv(CATALOGUE_URL_ENV, url)
    try:
        assert ids(list_models(S.SDK_TYPE_CLAUDE, NONE)) == snapshot_ids("anthropic")
    finally:
        catalogue.close()


def test_the_snapshot_holds_the_originals_fallback_models() -> None:
    """`off` (as in every other test) lists the shipped snapshot without fetching."""
    cat = snapshot()
    assert set(cat) == {"anthropic", "openai", "mistral", "zai", "opencode", "github-copilot"}
    shipped = json.loads(SNAPSHOT.read_text())
    assert {s: len(cat[s]) for s in cat} == {
        s: len(shipped[s]["models"]) for s in cat
    }  # none dropped
    assert {"claude-sonnet-4-5", "claude-sonnet-4-0"} <= set(snapshot_ids("anthropic"))
    zen_free = {m.id for m in cat["opencode"] if m.free}
    assert zen_free == {"gpt-5-nano", "big-pickle", "glm-4.7-free", "minimax-m2.1-free"}
    codex = {"gpt-5.2-codex", "gpt-5.1-codex", "codex-mini-latest"}
    assert codex <= set(snapshot_ids("openai"))


def test_claude_lists_bare_anthropic_ids_marked_by_their_key() -> None:
    assert ids(list_models(S.SDK_TYPE_CLAUDE, ANTHROPIC)) == snapshot_ids("anthropic")
    unkeyed = list_models(S.SDK_TYPE_CLAUDE, NONE)
    assert {(m.available, m.missing_key) for m in unkeyed} == {(False, "ANTHROPIC_API_KEY")}
    assert ids(list_models(S.SDK_TYPE_UNSPECIFIED, NONE)) == ids(unkeyed)  # the default SDK


def test_opencode_lists_zen_free_models_without_a_key_and_the_rest_marked() -> None:
    models = {m.id: m for m in list_models(S.SDK_TYPE_OPENCODE, ANTHROPIC)}
    assert models["opencode/big-pickle"].available
    paid = models["opencode/claude-sonnet-4-5"]
    assert (paid.available, paid.missing_key) == (False, "OPENCODE_API_KEY")
    assert models["anthropic/claude-opus-4-5"].available
    for variant in ("high", "max"):
        thinking = models[f"anthropic/claude-opus-4-5:{variant}"]
        assert thinking.available and f"{variant} thinking" in thinking.name
    for source, key in (("openai", "OPENAI_API_KEY"), ("zai", "ZAI_API_KEY")):
        listed = [m for i, m in models.items() if i.startswith(f"{source}/")]
        assert listed and {(m.available, m.missing_key) for m in listed} == {(False, key)}
    assert not [i for i in models if i.startswith("openai/") and ":" in i]  # variants: Anthropic
    keyed = ProviderSettings(enabled=frozenset({"openrouter"}), base_urls={})
    assert all(
        m.available for m in list_models(S.SDK_TYPE_OPENCODE, keyed) if m.provider == "opencode"
    )


def test_copilot_lists_github_ids_and_anthropic_ids_with_their_backend_suffix() -> None:
    models = {m.id: m for m in list_models(S.SDK_TYPE_COPILOT, ANTHROPIC)}
    github = [m for m in models.values() if m.provider == "github-copilot"]
    assert [m.id for m in github] == snapshot_ids("github-copilot")
    assert {(m.available, m.missing_key) for m in github} == {(False, "GITHUB_COPILOT_TOKEN")}
    byok = models["claude-sonnet-4-5:anthropic"]
    assert (byok.provider, byok.available) == ("anthropic", True)


def test_codex_expands_each_codex_model_per_auth_mode_and_effort() -> None:
    openai = ProviderSettings(enabled=frozenset({"openai"}), base_urls={})
    models = {m.id: m for m in list_models(S.SDK_TYPE_CODEX, openai)}
    codex = [i for i in snapshot_ids("openai") if "codex" in i]
    assert set(models) == {
        f"{c}:{mode}:{e}" for c in codex for mode in ("api", "oauth") for e in EFFORTS
    }
    api = models["gpt-5.1-codex:api:xhigh"]
    assert api.available and api.name.endswith("(API key, xHigh)")
    oauth = models["gpt-5.1-codex:oauth:low"]
    assert (oauth.available, oauth.missing_key) == (False, "netclode auth codex")
    signed_in = {m.id: m for m in list_models(S.SDK_TYPE_CODEX, openai, codex_signed_in=True)}
    assert (signed_in["gpt-5.1-codex:oauth:low"].available, signed_in[oauth.id].missing_key) == (
        True,
        "",
    )
