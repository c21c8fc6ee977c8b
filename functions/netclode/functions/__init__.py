"""The functions-framework targets (api, ingest, pool, webhook, bot, deadletter; main.py
names them) and the Connect handlers they serve (connect.py, ops.py): the top layer of the
control plane, which nothing below it imports."""
