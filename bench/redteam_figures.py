"""The figures issue 17's closing note gives, from the red-team suites themselves: bad inputs
tried and their outcomes, secrets searched and hits, faults injected and their outcomes, and
what the history flood left in the store.

Runs those suites (real stacks and sandboxes: several minutes) with pytest in this process,
keeps what each test printed and how it ended, and prints one section per figure. A figure
comes from a passing test only if its assertions held, so a failed test is shown as such.

    .venv/bin/python bench/redteam_figures.py [--section faults] ...
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDTEAM = "tests/redteam"
# Section -> the suites it runs and the lines (by prefix) their tests print for it.
SECTIONS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "bad inputs": (
        [f"{REDTEAM}/test_validation.py"],
        ("bad inputs tried:",),
    ),
    "secrets": (
        [f"{REDTEAM}/test_secret_scoping.py", f"{REDTEAM}/test_secret_encodings.py"],
        ("secrets searched:",),
    ),
    "faults": (
        [f"{REDTEAM}/test_faults.py"],
        ("fault:",),
    ),
    "history": (
        [f"{REDTEAM}/test_history_caps.py"],
        ("history flood:",),
    ),
}


@dataclass
class Outcome:
    nodeid: str
    outcome: str
    printed: list[str] = field(default_factory=list)


class Collector:
    """A pytest plugin keeping each test's outcome and the lines it printed."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and report.passed:
            return  # setup and teardown count only when they fail
        entry = self.outcomes.setdefault(report.nodeid, Outcome(report.nodeid, report.outcome))
        if not report.passed:
            entry.outcome = f"{report.outcome} ({report.when})"
        entry.printed += report.capstdout.splitlines()


def _section(name: str, collector: Collector) -> None:
    suites, prefixes = SECTIONS[name]
    outcomes = [o for o in collector.outcomes.values() if o.nodeid.split("::")[0] in suites]
    passed = sum(o.outcome == "passed" for o in outcomes)
    print(f"\n== {name}: {passed} of {len(outcomes)} tests passed")
    for o in outcomes:
        print(f"  {o.outcome:>8}  {o.nodeid.removeprefix(REDTEAM + '/')}")
        for line in o.printed:
            if line.startswith(prefixes):
                print(f"            {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS))
    args = parser.parse_args()
    sections = args.section or list(SECTIONS)
    suites = [suite for name in sections for suite in SECTIONS[name][0]]
    collector = Collector()
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", f"--rootdir={ROOT}", *[str(ROOT / s) for s in suites]],
        plugins=[collector],
    )
    for name in sections:
        _section(name, collector)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
