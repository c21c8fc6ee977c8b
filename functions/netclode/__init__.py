"""Netclode's control plane: the Knative functions and the domain they share.

Sub-packages, one idea each (the protocol they speak is netclode_protocol, the local
stand-ins for kubelet and Knative are netclode_local):
  functions/   the functions-framework targets (api, ingest, pool, ...) and the ops handlers
  sessions/    session lifecycle rules (create, prompt, pause, resume, delete)
  store/       Redis/Valkey state: sessions, streams, the audit trail
  drivers/     sandbox drivers behind one interface (local bubblewrap, kubernetes)
  eventing/    CloudEvents in and out
  auth/        API tokens and the checks every door applies
  github/      the GitHub App: webhooks, mentions, grants
"""

import netclode_protocol  # noqa: F401  (first: it keeps httpx's command-line tool unloaded)
