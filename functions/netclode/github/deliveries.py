"""A webhook delivery as Knative's GitHubSource publishes it, so either can feed the bot.

type `dev.knative.source.github.<X-GitHub-Event>`, source `https://github.com/<owner>/<repo>`,
id = X-GitHub-Delivery, data = the JSON payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from netclode.eventing.types import GITHUB_PREFIX

# GitHub event names and delivery GUIDs; anything else is refused before publishing.
EVENT_NAME = re.compile(r"^[a-z_]{1,64}$")
DELIVERY_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class Delivery:
    event: str
    delivery_id: str
    payload: dict[str, Any]

    @property
    def type(self) -> str:
        return GITHUB_PREFIX + self.event

    @property
    def source(self) -> str:
        repo = self.payload.get("repository") or {}
        if full := repo.get("full_name"):
            return f"https://github.com/{full}"
        if org := (self.payload.get("organization") or {}).get("login"):
            return f"https://github.com/{org}"
        return "https://github.com"

    @property
    def subject(self) -> str | None:
        """The issue or pull request number, as GitHubSource sets it for these events."""
        for key in ("pull_request", "issue"):
            number = (self.payload.get(key) or {}).get("number")
            if number is not None:
                return str(number)
        return None


def event_name(ce_type: str) -> str | None:
    """`dev.knative.source.github.issue_comment` -> `issue_comment`; None for other types."""
    if not ce_type.startswith(GITHUB_PREFIX):
        return None
    return ce_type.removeprefix(GITHUB_PREFIX)
