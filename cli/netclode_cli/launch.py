"""The `netclode` console script: the CLI, started with the cyclic garbage collector off
(netclode_protocol/startup.py); the root command turns it back on once the command is chosen."""

from netclode_protocol.startup import collector_off


def main() -> None:
    collector_off()
    from netclode_cli.main import cli

    cli()
