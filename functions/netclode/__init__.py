"""Netclode's control plane: the domain the Knative functions share.

Sub-packages, one idea each:
  v1/          generated protocol code (from functions/proto), shared by every deployable
  store/       Redis/Valkey state: sessions, streams, tokens, the warm pool
  sessions/    session lifecycle rules (create, prompt, pause, resume, delete)
  drivers/     sandbox drivers behind one interface (local bubblewrap, kubernetes)
  eventing/    CloudEvents in and out, and the local stand-in for Knative Eventing
  auth/        API tokens and the checks every door applies
  functions/   the functions-framework targets (api, ingest, pool, ...)
  localstack/  `netclode up`: every piece of the stack as a local process
"""
