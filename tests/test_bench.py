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


def test_concurrent_kernels_all_finish_and_their_peaks_add_up(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nx = np.ones((2000, 2000))")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    result = bench.run_concurrently(path, kernels=3, timeout=120)
    assert result["ok"] and result["kernels"] == 3 and not result["errors"]
    assert len(result["peak_rss_bytes"]) == 3 and all(
        p > 32 * 2**20 for p in result["peak_rss_bytes"]
    )
    assert result["total_peak_rss_bytes"] == sum(result["peak_rss_bytes"])
    assert result["wall_seconds"] >= max(result["seconds"])


def test_markdown_reports_the_concurrency_run():
    conc = {
        "notebook": "notebooks/x.ipynb",
        "cpu_count": 2,
        "kernels": 8,
        "wall_seconds": 120.0,
        "seconds": [100.0] * 8,
        "peak_rss_bytes": [300 * 2**20] * 8,
        "total_peak_rss_bytes": 2400 * 2**20,
        "ok": True,
        "errors": [],
    }
    report = {"repeat": 1, "machine": "m", "notebooks": [], "concurrency": conc}
    text = bench.markdown(report)
    assert "| 8 | 120.0 | 100.0 | 2,400 | 300 | yes |" in text


def test_a_concurrent_run_whose_kernel_cannot_start_is_reported_not_raised(tmp_path, monkeypatch):
    calls = []

    def dies(path, *, timeout):
        calls.append(path)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(bench, "run_notebook", dies)
    run = bench._run_one(tmp_path / "x.ipynb", 0, timeout=1)
    assert not run["ok"] and "Kernel died" in run["error"] and len(calls) == 2
