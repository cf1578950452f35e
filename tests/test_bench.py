"""The benchmark judges each notebook against the 60 s / 1 GiB budget."""

import pytest

from emcourse import bench


def _row(seconds=1.0, peak=100 * 2**20, ok=True):
    return {"ok": ok, "seconds": seconds, "peak_rss_bytes": peak}


@pytest.mark.parametrize(
    ("row", "status"),
    [
        (_row(), "ok"),
        (_row(ok=False), "error"),
        (_row(seconds=61.0), "over time"),
        (_row(peak=2**30 + 1), "over memory"),
        (_row(peak=None), "memory not measured"),
    ],
)
def test_budget_verdicts(row, status):
    assert bench._judge(row) == status
