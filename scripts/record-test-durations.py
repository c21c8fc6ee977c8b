#!/usr/bin/env python3
"""Records how long each test file takes, from a JUnit XML report of a whole run, into
tests/durations.json: the suite's two workers take the longest files first (tests/conftest.py),
so no long file is left to run alone at the end.

    scripts/test.sh --junitxml=test-artifacts/junit.xml
    .venv/bin/python scripts/record-test-durations.py test-artifacts/junit.xml
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

DURATIONS = Path(__file__).resolve().parent.parent / "tests" / "durations.json"


def file_durations(report: Path) -> dict[str, int]:
    """Seconds per test file (setup, call and teardown of its tests), whole seconds."""
    seconds: Counter[str] = Counter()
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 (our own pytest's report)
        path = case.get("classname", "").replace(".", "/") + ".py"
        seconds[path] += float(case.get("time") or 0)
    return {path: round(s) for path, s in sorted(seconds.items())}


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        sys.exit("usage: scripts/record-test-durations.py JUNIT_XML (a report of a whole run)")
    DURATIONS.write_text(json.dumps(file_durations(Path(sys.argv[1])), indent=1) + "\n")
    print(f"wrote {DURATIONS}")


if __name__ == "__main__":
    main()
