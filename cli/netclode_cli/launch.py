"""The `netclode` console script: the CLI, started with the cyclic garbage collector off.

Start-up imports allocate tens of thousands of objects that live as long as the process
(modules, classes, functions, protobuf descriptors), and collecting over them again and
again was about a tenth of the instructions `netclode sessions list` runs
(bench/cold_start.py). The collector comes back once the command is chosen
(`collect_from_here`, from the root command), with what start-up made frozen out of it.
"""

import gc


def main() -> None:
    gc.disable()
    from netclode_cli.main import cli

    cli()


def collect_from_here() -> None:
    """Start-up is over: what exists now stays for the whole process, so it is frozen out of
    every later collection, and the collector runs again for what the command allocates.
    Nothing to do where the CLI did not start from `main` (tests, an embedding program)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
