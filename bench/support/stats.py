"""One definition of a percentile for every bench, so their figures compare."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `q` of the values at
    or below it (p95 of 20 values is the 19th smallest, p99 of 100 the 99th)."""
    ordered = sorted(values)
    rank = math.ceil(round(q * len(ordered), 9))  # 0.07 * 100 is 7.000000000000001 in floats
    return ordered[max(rank - 1, 0)]
