"""Test-only Ansible callback: every task result as one JSON line in $NETCLODE_TRACE.

Check-mode runs are judged on what ran, in which order, and why a task was skipped (its
condition, or check mode standing in for a command that would run).
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: netclode_trace
type: aggregate
short_description: task results as JSON lines for the tests
description: Writes one JSON object per task result to the file named by NETCLODE_TRACE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "netclode_trace"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, event: dict[str, Any]) -> None:
        with open(os.environ["NETCLODE_TRACE"], "a") as trace:
            trace.write(json.dumps(event) + "\n")

    def _result(self, status: str, result: Any, event: str = "task") -> None:
        task = result._task
        data = result._result
        role = task._role.get_name() if task._role else None
        self._write(
            {
                "event": event,
                "item": data.get("item") if event == "item" else None,
                "role": role,
                "task": task.get_name().removeprefix(f"{role} : "),
                "status": status,
                # Skipped without a false condition: check mode stood in for the module (a
                # command that would run). Unknown (None) under no_log, which censors both.
                "planned": None
                if "censored" in data
                else status == "skipped" and "skip_reason" not in data,
                "msg": data.get("msg")
                if status == "failed" or task.action.endswith("debug")
                else None,
            }
        )

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._write({"event": "play", "name": play.get_name()})

    def v2_playbook_on_no_hosts_matched(self) -> None:
        self._write({"event": "no_hosts"})

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result("skipped", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result("failed", result)

    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._result("changed" if result._result.get("changed") else "ok", result, "item")

    def v2_runner_item_on_skipped(self, result: Any) -> None:
        self._result("skipped", result, "item")
