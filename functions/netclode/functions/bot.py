"""The bot function: GitHub deliveries in, sessions out, answers back as comments.

Fed by Triggers on the GitHub event types, on `turn.completed`, and on the PingSource tick
(the sweep that enforces timeouts and recovers work a crashed pod left behind).
"""

from __future__ import annotations

from functools import cache

from cloudevents.http import CloudEvent

from netclode.config import Settings
from netclode.eventing import types
from netclode.eventing.receive import Drop, cloudevent_endpoint
from netclode.github.app import GitHubApp
from netclode.github.deliveries import event_name
from netclode.github.sessions import SessionAPI
from netclode.github.settings import GitHubSettings
from netclode.github.workflow import Bot
from netclode.store.redis import connect
from netclode_protocol.errors import FailedPrecondition


@cache
def _bot() -> Bot:
    gh = GitHubSettings.from_env()
    if not gh.netclode_api_url or not gh.bot_token:
        raise FailedPrecondition("bot not configured: set NETCLODE_API_URL and NETCLODE_BOT_TOKEN")
    r = connect(Settings.from_env().redis_url)
    return Bot(
        gh,
        r,
        GitHubApp(gh),
        SessionAPI(
            gh.netclode_api_url, gh.bot_token, gh.session_sdk, gh.session_model, gh.repo_sessions
        ),
    )


def _data(event: CloudEvent) -> dict:
    data = event.get_data()
    if not isinstance(data, dict):
        raise Drop("event data is not a JSON object")
    return data


@cloudevent_endpoint("bot")
def bot(event: CloudEvent) -> None:
    """functions-framework target `bot` (HTTP signature)."""
    github_event = event_name(event["type"])
    if github_event is not None:
        _bot().on_delivery(github_event, event["id"], _data(event))
    elif event["type"] == types.SESSION_TURN_COMPLETED:
        _bot().on_turn_completed(_data(event))
    elif event["type"] == types.PING:
        _bot().sweep()
    else:
        raise Drop(f"the bot does not handle {event['type']}")
