"""Command groups, one module per group; netclode_cli.main names their commands."""
