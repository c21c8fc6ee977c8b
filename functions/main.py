"""functions-framework entry: every Netclode function target, chosen by FUNCTION_TARGET.

Each target lives in its own module under netclode.functions. A process serves one target,
so a target's module is imported only when functions-framework asks for it by name: a
function's cold start pays for its own imports, not for every other function's.
"""

import importlib
from typing import Any

TARGETS = ("api", "bot", "deadletter", "ingest", "pool", "webhook")


def __getattr__(name: str) -> Any:
    if name not in TARGETS:
        raise AttributeError(f"no function target named {name!r} (targets: {', '.join(TARGETS)})")
    return getattr(importlib.import_module(f"netclode.functions.{name}"), name)


def __dir__() -> list[str]:
    return list(TARGETS)
