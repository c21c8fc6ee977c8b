"""The GitHub side of Netclode: webhook verification and conversion, and the bot's workflows.

The webhook function only verifies, dedupes and publishes (netclode.github.signature,
netclode.github.deliveries); the bot function turns deliveries into sessions and sessions'
answers into comments (netclode.github.workflow).
"""
