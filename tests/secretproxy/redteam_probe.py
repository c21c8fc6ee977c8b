"""Runs INSIDE a sandbox (stdlib only, `python -c`): looks everywhere a process can look for
strings shaped like the test's secrets and prints what it found as JSON.

It is given only the *shape* (a regex over a test-unique marker), never a secret value, so
running it cannot itself bring a secret into the sandbox. The test, outside, checks that
no match equals a real secret, and that a planted decoy of the same shape was found (so
the search demonstrably works). Bounded: files over MAX_FILE bytes are skipped, the
sandbox-specific roots (small) are always walked whole, first, and the rest of the tree
(mostly read-only host directories) only until BUDGET_S seconds have passed, so a busy host
cuts the broad sweep short, never the places a leak would most likely be.
"""

import json
import os
import re
import subprocess
import sys
import time

PATTERN = re.compile(sys.argv[1].encode())
MAX_FILE = 1 << 20
BUDGET_S = 15.0
# Writable or sandbox-made places first, then everything else (mostly read-only host trees).
ROOTS = ["/run", "/etc", "/tmp", "/workspace", "/"]
BOUNDED_ROOT = "/"
SKIP = {"/proc", "/sys", "/dev"}


def matches(data: bytes) -> list[str]:
    return sorted({m.group().decode() for m in PATTERN.finditer(data)})


def scan_proc() -> dict:
    found: dict[str, list[str]] = {}
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    for pid in pids:
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as f:
                    hits = matches(f.read())
            except OSError:
                continue
            if hits:
                found[f"/proc/{pid}/{part}"] = hits
    return {"pids": len(pids), "found": found}


def scan_files(deadline: float) -> dict:
    found: dict[str, list[str]] = {}
    seen: set[tuple[int, int]] = set()
    files = 0
    completed = []
    for root in ROOTS:
        for top, dirs, names in os.walk(root):
            st = os.stat(top)
            if top in SKIP or (st.st_dev, st.st_ino) in seen:
                dirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in SKIP]
            for name in names:
                path = os.path.join(top, name)
                try:
                    if os.path.islink(path) or os.path.getsize(path) > MAX_FILE:
                        continue
                    with open(path, "rb") as f:
                        hits = matches(f.read())
                except OSError:
                    continue
                files += 1
                if hits:
                    found[path] = hits
            if root == BOUNDED_ROOT and time.monotonic() > deadline:
                return {"files": files, "completed": completed, "found": found}
        completed.append(root)
    return {"files": files, "completed": completed, "found": found}


def run(*argv: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(argv, capture_output=True, env=env, timeout=10, check=False)
    return (done.stdout + done.stderr).decode(errors="replace")


def scan_git() -> dict:
    run("git", "init", "-q", "/workspace/probe-repo")
    outputs = {
        "config": run("git", "-C", "/workspace/probe-repo", "config", "--list", "--show-origin"),
        "helpers": run("git", "config", "--get-all", "credential.helper"),
    }
    # What git would send to github.com: empty input makes `credential fill` ask helpers.
    outputs["fill"] = subprocess.run(
        ["git", "credential", "fill"],
        input=b"protocol=https\nhost=github.com\n\n",
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"},
        timeout=10,
        check=False,
    ).stdout.decode(errors="replace")
    return {"outputs": outputs, "found": matches("\n".join(outputs.values()).encode())}


def main() -> None:
    deadline = time.monotonic() + BUDGET_S
    report = {
        "env": matches("\n".join(f"{k}={v}" for k, v in os.environ.items()).encode()),
        "proc": scan_proc(),
        "git": scan_git(),
        "files": scan_files(deadline),
    }
    print(json.dumps(report))


main()
