"""Every Redis key Netclode uses, in one place.

The secret proxy, the functions and the tests all build key names through this module,
so the layout below is the whole persistent schema:

  sessions:index                 ZSET  session id -> created_at (ms)
  sessions:listed                ZSET  "<created_at:013d>:<id>", all scores 0: every session,
                                       newest last in lexical order (ListSessions pages)
  sessions:listed:{owner_id}     ZSET  the same, one owner's sessions only
  session:{id}                   HASH  session fields (see store.sessions)
  session:{id}:stream            STREAM durable history; field "e" = StreamEntry bytes
  session:{id}:live              STREAM capped live tail of partial entries
  session:{id}:terminal          STREAM capped terminal output (scrollback)
  session:{id}:pending           LIST  prompts waiting for a sandbox (JSON)
  session:{id}:audit             STREAM capped secret-proxy audit records (see audit.py)
  session:{id}:secrets           HASH  the session's own real credentials, read only by the
                                       secret proxy: GITHUB_TOKEN = repo-scoped token
  session:{id}:snapshots         ZSET  snapshot id -> created_at (ms)
  session:{id}:snapshot:{snap}   HASH  snapshot record
  session:{id}:ports             HASH  port -> preview URL
  session:{id}:turns             HASH  open turns: prompt id -> "<sandbox id> <state>"
                                       (issued|started|completed; see store.turns)
  session:{id}:batches           HASH  publisher id -> last batch seq applied (ingest)
  session:{id}:bytes             HASH  bytes held per stream (history, live, terminal): the
                                       per-session caps (see store.streams)
  sessiontoken:{sha256}          STRING session id (the sandbox's credential, hashed)
  apitoken:{sha256}              HASH  name, role, created_at
  apitokens:names                HASH  name -> sha256
  pool:ready                     LIST  sandbox ids ready to be claimed
  pool:sandboxes                 ZSET  sandbox id -> created_at (ms), every live sandbox
  sandbox:{id}                   HASH  state, session, workspace, created_at
  dedupe:{scope}:{key}           STRING idempotency marker with a TTL
  deadletters                    STREAM capped failed CloudEvent deliveries
  ratelimit:{scope}:{client}     STRING failure counter with a TTL
  ghbot:delivery:{id}            STRING GitHub webhook delivery seen (dedupe, 24 h TTL)
  ghbot:job:{delivery}           HASH  one bot workflow in flight (see netclode.github.jobs)
  ghbot:jobs                     ZSET  delivery -> created_at (ms), every workflow in flight
  ghbot:running                  SET   deliveries holding one of the concurrency slots
  ghbot:session:{session}        STRING the delivery whose workflow owns that session
  ghbot:depreview:{repo}#{n}     STRING dependency review already started for that PR
  codexauth:account              HASH  account_id, expires_at of the secret proxy's Codex
                                       (ChatGPT) sign-in: written by the proxy, never a token
"""

SESSIONS_INDEX = "sessions:index"
SESSIONS_LISTED = "sessions:listed"
CODEX_ACCOUNT = "codexauth:account"
API_TOKEN_NAMES = "apitokens:names"
POOL_READY = "pool:ready"
POOL_SANDBOXES = "pool:sandboxes"
DEAD_LETTERS = "deadletters"


def sessions_listed(owner_id: str) -> str:
    """One owner's sessions in listing order (see store.sessions.SessionStore.page)."""
    return f"{SESSIONS_LISTED}:{owner_id}"


def session(session_id: str) -> str:
    return f"session:{session_id}"


def stream(session_id: str) -> str:
    return f"session:{session_id}:stream"


def live(session_id: str) -> str:
    return f"session:{session_id}:live"


def terminal(session_id: str) -> str:
    return f"session:{session_id}:terminal"


def pending_prompts(session_id: str) -> str:
    return f"session:{session_id}:pending"


def audit(session_id: str) -> str:
    return f"session:{session_id}:audit"


def session_secrets(session_id: str) -> str:
    """Real per-session credentials (e.g. GITHUB_TOKEN) the secret proxy injects."""
    return f"session:{session_id}:secrets"


def snapshots(session_id: str) -> str:
    return f"session:{session_id}:snapshots"


def snapshot(session_id: str, snapshot_id: str) -> str:
    return f"session:{session_id}:snapshot:{snapshot_id}"


def ports(session_id: str) -> str:
    return f"session:{session_id}:ports"


def turns(session_id: str) -> str:
    return f"session:{session_id}:turns"


def batches(session_id: str) -> str:
    return f"session:{session_id}:batches"


def stream_bytes(session_id: str) -> str:
    return f"session:{session_id}:bytes"


def session_token(token_hash: str) -> str:
    return f"sessiontoken:{token_hash}"


def api_token(token_hash: str) -> str:
    return f"apitoken:{token_hash}"


def sandbox(sandbox_id: str) -> str:
    return f"sandbox:{sandbox_id}"


def dedupe(scope: str, key: str) -> str:
    return f"dedupe:{scope}:{key}"


def rate_limit(scope: str, client: str) -> str:
    return f"ratelimit:{scope}:{client}"


def ghbot_delivery(delivery_id: str) -> str:
    return f"ghbot:delivery:{delivery_id}"


def ghbot_delivery_body(sha256: str) -> str:
    """A signed webhook body already accepted (replays under a new delivery id)."""
    return f"ghbot:delivery-body:{sha256}"


def ghbot_job(delivery_id: str) -> str:
    return f"ghbot:job:{delivery_id}"


GHBOT_JOBS = "ghbot:jobs"
GHBOT_RUNNING = "ghbot:running"


def ghbot_session(session_id: str) -> str:
    return f"ghbot:session:{session_id}"


def ghbot_dep_review(repo: str, number: int) -> str:
    return f"ghbot:depreview:{repo}#{number}"


def all_for_session(session_id: str) -> list[str]:
    """Keys removed when a session is deleted (snapshot hashes are listed separately)."""
    return [
        session(session_id),
        stream(session_id),
        live(session_id),
        terminal(session_id),
        pending_prompts(session_id),
        audit(session_id),
        session_secrets(session_id),
        snapshots(session_id),
        ports(session_id),
        turns(session_id),
        batches(session_id),
        stream_bytes(session_id),
    ]
