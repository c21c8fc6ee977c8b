"""The benches' percentile: the nearest rank, so a p95 of 20 runs is not their maximum."""

from __future__ import annotations

import pytest

from bench.support.stats import percentile


@pytest.mark.parametrize(
    ("n", "q", "expected"),
    [
        (20, 0.95, 19),
        (20, 0.99, 20),
        (100, 0.99, 99),
        (100, 0.5, 50),
        (100, 0.07, 7),  # 0.07 * 100 is a hair over 7 in floating point
        (1, 0.99, 1),
        (3, 0.0, 1),
    ],
)
def test_percentile_is_the_nearest_rank(n: int, q: float, expected: int) -> None:
    values = [float(v) for v in range(n, 0, -1)]  # unsorted: n .. 1
    assert percentile(values, q) == expected
