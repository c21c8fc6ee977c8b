"""Stand-ins for the host programs the GPU and Tailscale roles consult, for check-mode runs.

Each program answers the invocations the roles make the way the real one does on a host in a
given state (a JSON file named by FAKE_HOST_STATE) and refuses anything else with exit 2, so
an unexpected call fails the run. Every call is appended to FAKE_HOST_CALLS. The playbook is
run in check mode: programs that would change the host (mokutil --import, tailscale up,
kubectl apply, modprobe of a missing module...) are never reached, and calling them fails.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PROGRAMS = ["lspci", "mokutil", "modprobe", "tailscale", "k3s", "kubectl", "systemctl"]
MOK_KEY = "/var/lib/dkms/mok.pub"


def _lspci(state: dict[str, Any], args: list[str]) -> int:
    if args != ["-nn"]:
        return _refuse(args)
    print("00:02.0 VGA compatible controller [0300]: Intel Corporation UHD Graphics [8086:9bc4]")
    if state["gpu"]:
        print("01:00.0 VGA compatible controller [0300]: NVIDIA Corporation AD104 [10de:2782]")
    return 0


def _mokutil(state: dict[str, Any], args: list[str]) -> int:
    if args == ["--sb-state"]:
        print(f"SecureBoot {'enabled' if state['secure_boot'] else 'disabled'}")
        return 0
    if args == ["--test-key", MOK_KEY]:
        mok = state["mok"]  # "none", "queued" or "enrolled", as mokutil reports them
        if mok == "enrolled":
            print(f"{MOK_KEY} is already enrolled")
            return 1
        if mok == "queued":
            print(f"{MOK_KEY} is already in the enroll request")
            return 1
        print(f"{MOK_KEY} is not enrolled")
        return 0
    return _refuse(args)


def _modprobe(state: dict[str, Any], args: list[str]) -> int:
    if args != ["nvidia"]:
        return _refuse(args)
    if not state["driver_built"]:
        print(
            "modprobe: FATAL: Module nvidia not found in directory /lib/modules/6.12.0",
            file=sys.stderr,
        )
        return 1
    if state["secure_boot"] and state["mok"] != "enrolled":
        print(
            "modprobe: ERROR: could not insert 'nvidia': Key was rejected by service",
            file=sys.stderr,
        )
        return 1
    return 0


def _tailscale(state: dict[str, Any], args: list[str]) -> int:
    if args != ["status", "--json"]:
        return _refuse(args)
    tailnet = state.get("tailnet")
    if tailnet is None:
        print(json.dumps({"BackendState": "NeedsLogin", "MagicDNSSuffix": ""}))
        return 0
    print(
        json.dumps(
            {
                "BackendState": "Running",
                "MagicDNSSuffix": tailnet["domain"],
                "Self": {"HostName": tailnet["hostname"]},
            }
        )
    )
    return 0


def _k3s(state: dict[str, Any], args: list[str]) -> int:
    if args != ["--version"]:
        return _refuse(args)
    if state.get("k3s") is None:
        print("k3s: command not found", file=sys.stderr)
        return 127
    print(f"k3s version {state['k3s']} (1234abcd)\ngo version go1.24.9")
    return 0


def _systemctl(state: dict[str, Any], args: list[str]) -> int:
    units = state.get("units", {})
    if len(args) == 2 and args[0] == "show":
        active = units.get(args[1])
        if active is None:
            print(f"Id={args[1]}.service\nLoadState=not-found\nActiveState=inactive")
        else:
            print(
                f"Id={args[1]}.service\nLoadState=loaded\n"
                f"ActiveState={'active' if active else 'inactive'}\n"
                f"UnitFileState={'enabled' if active else 'disabled'}"
            )
        return 0
    if len(args) == 2 and args[0] == "is-enabled":
        print("enabled" if units.get(args[1]) else "disabled")
        return 0 if units.get(args[1]) else 1
    return _refuse(args)


def _kubectl(state: dict[str, Any], args: list[str]) -> int:
    """Read-only kubectl: server-side diff of stdin, and `ollama list` in the Ollama pod."""
    if "diff" in args and "--server-side" in args:
        sys.stdin.read()
        return 1  # "differences found": the object would be applied
    if args[-4:-1] == ["--", "ollama", "list"] or args[-3:] == ["--", "ollama", "list"]:
        print("NAME    ID    SIZE    MODIFIED")
        for model in state.get("ollama_models", []):
            print(f"{model}    0123456789ab    9.0 GB    2 days ago")
        return 0
    return _refuse(args)


def _refuse(args: list[str]) -> int:
    print(f"fake host: unexpected call {Path(sys.argv[0]).name} {args}", file=sys.stderr)
    return 2


HANDLERS = {
    "lspci": _lspci,
    "mokutil": _mokutil,
    "modprobe": _modprobe,
    "tailscale": _tailscale,
    "k3s": _k3s,
    "kubectl": _kubectl,
    "systemctl": _systemctl,
}


def main(program: str) -> int:
    args = sys.argv[1:]
    with open(os.environ["FAKE_HOST_CALLS"], "a") as calls:
        calls.write(json.dumps([program, *args]) + "\n")
    state = json.loads(Path(os.environ["FAKE_HOST_STATE"]).read_text())
    return HANDLERS[program](state, args)


def install(bin_dir: Path) -> None:
    """One executable per program in `bin_dir`, each answering through this module."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    here = str(Path(__file__).parent)
    for program in PROGRAMS:
        path = bin_dir / program
        path.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {here!r})\n"
            f"import fake_host\nsys.exit(fake_host.main({program!r}))\n"
        )
        path.chmod(0o755)
