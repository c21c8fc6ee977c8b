"""Publishing from inside a sandbox, as anything running there can: raw IngestService calls
over its control socket, with the session token it can read or with any other."""

from __future__ import annotations

import sys

from netclode.v1 import agent_pb2
from tests.support.stack import Client

TOKEN_FILE = "/run/netclode/session/token"
# argv: the token (or "@<file>" to read it there), then hex-encoded PublishRequests.
_POSTER = """
import http.client, socket, sys
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect("/run/netclode/out/control.sock")
token = sys.argv[1]
if token.startswith("@"):
    token = open(token[1:]).read().strip()
for body in sys.argv[2:]:
    conn = Conn("ingest")
    headers = {"Content-Type": "application/proto", "Authorization": "Bearer " + token}
    conn.request("POST", "/netclode.v1.IngestService/Publish", bytes.fromhex(body), headers)
    print(conn.getresponse().status)
    conn.close()
"""


def publish_inside(
    api: Client, session_id: str, batches: list[agent_pb2.PublishRequest], token: str = ""
) -> list[int]:
    """The HTTP status of each call; `token` defaults to the sandbox's own."""
    argv = [sys.executable, "-c", _POSTER, token or f"@{TOKEN_FILE}"]
    argv += [batch.SerializeToString().hex() for batch in batches]
    reply = api.exec(session_id, *argv)
    assert reply.exit_code == 0, reply.stderr.decode()
    return [int(status) for status in reply.stdout.split()]
