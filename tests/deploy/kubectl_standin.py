"""kubectl for `make rollout-*` without a cluster: patches go through the real kubectl.

Objects are the files in $STANDIN_OBJECTS (`<kind>-<name>.json`, what the production
overlay builds). `patch` runs the real `kubectl patch --local` on the stored object, so a
patch path that does not exist fails as on the API server, and stores the result back.
`exec statefulset/redis -- valkey-cli --raw EVAL ...` runs the script on the Valkey at
$STANDIN_REDIS_URL. `get`, `wait`, `rollout status` and `delete pod` answer as a cluster whose
controllers are done; anything else is refused (exit 2). Every call goes to $STANDIN_CALLS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis

KINDS = {"ksvc": "Service", "configmap": "ConfigMap", "deployment": "Deployment"}


def _object(kind: str, name: str) -> Path:
    return Path(os.environ["STANDIN_OBJECTS"]) / f"{KINDS[kind]}-{name}.json"


def _patch(args: list[str]) -> int:
    kind, name = args[1], args[2]
    path = _object(kind, name)
    if not path.is_file():
        print(f'Error from server (NotFound): {kind} "{name}" not found', file=sys.stderr)
        return 1
    out = subprocess.run(
        ["kubectl", "patch", "--local", "-f", str(path), "-o", "json", *args[3:]],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return out.returncode
    path.write_text(out.stdout)
    print(f"{kind}/{name} patched")
    return 0


def _exec(args: list[str]) -> int:
    target, rest = args[1], args[args.index("--") + 1 :]
    if target != "statefulset/redis" or rest[:3] != ["valkey-cli", "--raw", "EVAL"]:
        return _refuse(args)
    client = redis.Redis.from_url(os.environ["STANDIN_REDIS_URL"], decode_responses=True)
    script, numkeys, *keys_and_args = rest[3:]
    for item in client.eval(script, int(numkeys), *keys_and_args):
        print(item)
    return 0


def _refuse(args: list[str]) -> int:
    print(f"kubectl stand-in: unexpected call {args}", file=sys.stderr)
    return 2


def main() -> int:
    argv = sys.argv[1:]
    with open(os.environ["STANDIN_CALLS"], "a") as calls:
        calls.write(json.dumps(argv) + "\n")
    if argv[:4] != ["--context", "netclode", "-n", "netclode"]:
        return _refuse(argv)
    args = argv[4:]
    verb = args[0]
    if verb == "patch":
        return _patch(args)
    if verb == "exec":
        return _exec(args)
    if verb == "get" and args[1] == "ksvc" and "-o" in args:
        print(json.loads(_object("ksvc", args[2]).read_text())["metadata"].get("generation", 1))
        return 0
    if verb in {"wait", "delete"} or args[:2] == ["rollout", "status"]:
        return 0
    return _refuse(args)


if __name__ == "__main__":
    sys.exit(main())
