"""Streaming model clients for the native agent: Anthropic Messages and OpenAI-compatible chat.

A step is written by `llm_request`, sent by `llm_http` (httpx2 directly, with the SDKs'
headers, retries and error messages) and read by `llm_stream` (our own SSE parser): going
through the SDKs cost ~10 ms per step preparing the request (a deep copy of the whole
history) and ~20 ms building typed objects for every stream event. Short non-streamed
answers (titles) still go through the SDKs.

History is kept in a neutral, JSON-serialisable form (see `native.History`) and converted
per API by `llm_request`, so a conversation file does not depend on the wire format.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

import anthropic
import httpx2
import openai

from netclode_protocol.errors import InvalidArgument
from netclode_protocol.providers import split_model
from netclode_protocol.settings import ConfigurationError, read_int
from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.agent import give_up_s
from netclode_sandbox.agent.events import Events
from netclode_sandbox.agent.llm_http import (
    StatusError,
    Streaming,
    Unreachable,
    describe,
    proxy_for,
)
from netclode_sandbox.agent.llm_request import (
    anthropic_body,
    anthropic_turn,
    openai_body,
    openai_turn,
)
from netclode_sandbox.agent.llm_stream import AnthropicReader, BrokenOff, OpenAIReader, Step


class ModelError(Exception):
    """The model could not answer (HTTP error, unreachable, no provider): ends the turn."""


class ModelClient(Protocol):
    def step(self, system: str, history: list[dict], tools: list[dict], events: Events) -> Step:
        """Streams one reply, emitting deltas; raises ModelError."""

    def complete(self, prompt: str, max_tokens: int) -> str:
        """A short non-streamed answer (titles)."""

    def abort(self) -> None:
        """Closes the reply being streamed (from another thread)."""


def make_client(config: agent_pb2.SessionConfig, model: str | None = None) -> ModelClient:
    """The client for the session's provider; ModelError when it is unknown or unconfigured."""
    env = {**os.environ, **config.env}
    try:
        provider, name = split_model(config.sdk_type, model or config.model)
    except InvalidArgument as e:
        raise ModelError(e.message) from None
    base = env.get(provider.base_env, "") or provider.default_base
    key = env.get(provider.key_env, "") if provider.key_env else "ollama"
    if not key or (provider.name == "ollama" and not base):
        missing = provider.key_env or provider.base_env
        raise ModelError(
            f"provider {provider.name!r} is not configured in this sandbox ({missing} unset)"
        )
    try:
        retries, patience = read_int("NETCLODE_LLM_MAX_RETRIES", env), give_up_s(env)
    except (ConfigurationError, ValueError) as e:
        raise ModelError(str(e)) from None
    if provider.name == "ollama":
        base = base.rstrip("/") + "/v1"
    client = AnthropicClient if provider.api == "anthropic" else OpenAIClient
    return client(provider, name, key, base, retries, patience, proxy=proxy_for(base, env))


class _Client(Streaming):
    """One streamed step: the request written, sent, and its reply read into a `Step`."""

    body: Callable[[str, str, str, list[dict]], bytes]
    reader: Callable[[Events], AnthropicReader | OpenAIReader]

    def step(self, system: str, history: list[dict], tools: list[dict], events: Events) -> Step:
        content = self.body(self.model, system, self._encoded.messages(history), tools)
        try:
            resp = self._open(self.url, content)
            try:
                return self.reader(events).read(resp.iter_bytes())
            finally:
                resp.close()
        except (StatusError, BrokenOff, Unreachable, httpx2.HTTPError, httpx2.StreamError) as e:
            raise ModelError(describe(self.where, e)) from None


class AnthropicClient(_Client):
    client_class = anthropic.Anthropic
    http_class = anthropic.DefaultHttpxClient
    endpoint = "v1/messages"
    turn = staticmethod(anthropic_turn)
    body = staticmethod(anthropic_body)
    reader = AnthropicReader

    def complete(self, prompt: str, max_tokens: int) -> str:
        try:
            msg = self.sdk.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
        except anthropic.APIError as e:
            raise ModelError(describe(self.where, e)) from None
        return "".join(b.text for b in msg.content if b.type == "text")


class OpenAIClient(_Client):
    client_class = openai.OpenAI
    http_class = openai.DefaultHttpxClient
    endpoint = "chat/completions"
    turn = staticmethod(openai_turn)
    body = staticmethod(openai_body)
    reader = OpenAIReader

    def complete(self, prompt: str, max_tokens: int) -> str:
        try:
            resp = self.sdk.chat.completions.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
        except openai.APIError as e:
            raise ModelError(describe(self.where, e)) from None
        return resp.choices[0].message.content or "" if resp.choices else ""
