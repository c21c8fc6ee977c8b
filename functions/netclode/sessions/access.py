"""Who may touch a session: its owner, or an admin. The one ownership check, below the API
façades (the session, port and snapshot services) that all apply it."""

from __future__ import annotations

from netclode.auth.tokens import Principal
from netclode.sessions import validation
from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol.errors import NotFound


def may_see(principal: Principal, record: SessionRecord) -> bool:
    return principal.is_admin or record.owner_id == principal.id


def owned(store: SessionStore, principal: Principal, session_id: str) -> SessionRecord:
    """The session, if the principal may touch it; anything else is reported as not found,
    never as forbidden (a user learns nothing of other users' sessions)."""
    validation.session_id(session_id)
    record = store.get(session_id)
    if record is None or not may_see(principal, record):
        raise NotFound(f"session {session_id} not found")
    return record
