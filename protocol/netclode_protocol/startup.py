"""Starting a short-lived or pre-forking Python process with the cyclic garbage collector off.

Start-up imports allocate hundreds of thousands of objects that live as long as the process
(modules, classes, functions, protobuf descriptors); with the collector on, it walks them
again and again while they are made: a tenth of `netclode sessions list`'s instructions and
about a twentieth of a function's cold start (bench/cold_start.py). A launcher calls
`collector_off` first thing; `collect_from_here` ends start-up: what exists by then is frozen
out of every later collection (a forked worker keeps those pages shared, too) and the
collector runs again for what the process goes on to allocate.
"""

import gc


def collector_off() -> None:
    gc.disable()


def collect_from_here() -> None:
    """Ends start-up (see the module doc); nothing to do where the collector was never turned
    off (tests, a program that imports the code without its launcher)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
