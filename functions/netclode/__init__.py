"""Netclode's control plane: the domain the Knative functions share.

Sub-packages, one idea each:
  v1/          generated protocol code (from protocol/proto), shared by every deployable
  store/       Redis/Valkey state: sessions, streams, tokens, the warm pool
  sessions/    session lifecycle rules (create, prompt, pause, resume, delete)
  drivers/     sandbox drivers behind one interface (local bubblewrap, kubernetes)
  eventing/    CloudEvents in and out, and the local stand-in for Knative Eventing
  auth/        API tokens and the checks every door applies
  functions/   the functions-framework targets (api, ingest, pool, ...)
  localstack/  `netclode up`: every piece of the stack as a local process
"""

import sys

# httpx imports its own command-line tool (rich, pygments) whenever it is imported: a large
# share of every function's cold start, for a tool no Netclode process runs. A None entry
# makes just that import fail, which httpx expects (its `main` then asks for the extras).
# typeshed types the table as modules only; None is the import system's own "cannot import".
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
