"""The dead-letter sink: records CloudEvents whose delivery failed after every retry.

Knative adds knativeerrordest / knativeerrorcode / knativeerrordata to such events; the
record keeps them so `netclode ops dead-letters` can say what failed and why.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

from cloudevents.http import CloudEvent

from netclode.config import process_settings
from netclode.eventing.receive import cloudevent_endpoint
from netclode.store.redis import connect
from netclode_protocol import keys

MAX_KEPT = 1000


@cloudevent_endpoint("deadletter")
def deadletter(event: CloudEvent) -> None:
    """functions-framework target `deadletter` (HTTP signature)."""
    attributes = event.get_attributes()
    r = connect(process_settings().redis_url)
    r.xadd(
        keys.DEAD_LETTERS,
        {
            "time": str(int(time.time() * 1000)),
            "type": attributes.get("type", ""),
            "source": attributes.get("source", ""),
            "id": attributes.get("id", ""),
            "subscriber": attributes.get("knativeerrordest", ""),
            "error": _error_text(attributes),
        },
        maxlen=MAX_KEPT,
        approximate=True,
    )


def _error_text(attributes: Mapping[str, Any]) -> str:
    code = attributes.get("knativeerrorcode", "")
    data = attributes.get("knativeerrordata", "")
    try:
        detail = base64.b64decode(data).decode(errors="replace")[:500] if data else ""
    except ValueError:
        detail = ""
    return " ".join(p for p in (f"HTTP {code}" if code else "", detail) if p)
