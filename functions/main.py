"""functions-framework entry: every Netclode function target, chosen by FUNCTION_TARGET.

Each target lives in its own module under netclode.functions; this file only names them.
"""

from netclode.functions.api import api
from netclode.functions.bot import bot
from netclode.functions.deadletter import deadletter
from netclode.functions.ingest import ingest
from netclode.functions.pool import pool
from netclode.functions.webhook import webhook

__all__ = ["api", "bot", "deadletter", "ingest", "pool", "webhook"]
