"""functions-framework entry: every Netclode function target, chosen by FUNCTION_TARGET.

Each target lives in its own module under netclode.functions; this file only names them.
"""

from netclode.functions.api import api
from netclode.functions.deadletter import deadletter
from netclode.functions.ingest import ingest

__all__ = ["api", "deadletter", "ingest"]
