"""The `netclode` command line: sessions, prompts, history, terminal, and the local stack."""
