"""Every CloudEvent type Netclode publishes or consumes.

Published types must each have a consumer Trigger in knative/ (checked by the manifest lint).
"""

SOURCE = "netclode/control-plane"

SESSION_CREATED = "io.netclode.session.created"
# A session on a workspace it has (resume, restore, fork) took a warm pool sandbox.
SESSION_RESUMED = "io.netclode.session.resumed"
SESSION_TURN_COMPLETED = "io.netclode.session.turn.completed"

PUBLISHED = frozenset({SESSION_CREATED, SESSION_RESUMED, SESSION_TURN_COMPLETED})

# Consumed from Knative sources.
PING = "dev.knative.sources.ping"
GITHUB_PREFIX = "dev.knative.source.github."
