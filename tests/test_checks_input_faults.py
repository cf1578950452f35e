"""Self-checks given unusable answers: one friendly line naming the argument (issue 18, item 6).

Ragged lists, labels at the integer limits, a None matrix and a 1e300 matrix
must come back as a failed CheckResult in plain words, never as numpy's
"inhomogeneous shape", an OverflowError, "tuple index out of range" or an
overflow warning (pytest turns warnings into errors).
"""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import clem
from emcourse.checks import clem as clem_checks
from emcourse.checks import clem_overlay, segmentation, segmentation_models

RAGGED = [[1, 2], [3]]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)
    monkeypatch.setattr("emcourse.checks._core._ipython", lambda: None)


@pytest.fixture
def truth():
    t = np.zeros((4, 6, 6), np.int64)
    t[1:3, 1:3, 1:3] = 1
    t[1:3, 3:5, 3:5] = 2
    return t


def failed(result, *words):
    assert result.status == "failed", (result.status, result.message)
    assert "\n" not in result.message
    for w in words:
        assert w in result.message, result.message
    return result


@pytest.mark.parametrize("check", [segmentation.segmentation_quality, segmentation.mask_quality])
def test_ragged_list_is_named_not_numpy(truth, check):
    failed(check(RAGGED, truth), "ragged")
    failed(check(lambda: RAGGED, truth), "ragged")


@pytest.mark.parametrize("dtype", [np.int64, np.uint64], ids=["int64 max", "uint64 max"])
def test_labels_at_the_integer_limit_are_just_labels(truth, dtype):
    labels = truth.astype(dtype)
    labels[labels == 2] = np.iinfo(dtype).max
    result = segmentation.segmentation_quality(labels, truth)
    assert result.passed, result.message
    assert "negative" not in result.message


def test_labels_without_zero_keep_their_background(truth):
    shifted = truth.astype(np.uint64) + 5  # background 5, objects 6 and 7: three objects
    result = segmentation.segmentation_quality(shifted, truth)
    assert not result.passed and "3 objects found" in result.message


def test_instance_scores_ragged_answer_is_named():
    failed(segmentation_models.instance_scores(lambda t, p: (1.0, 1.0, RAGGED)), "ragged")


def _true_inliers(moving, fixed, threshold):
    for seed in (81, 82):
        lm = clem.standin_landmarks(20, seed=seed, outlier_fraction=0.2)
        if np.array_equal(lm.moving, moving):
            return ~lm.truth["outlier"]
    raise AssertionError("not one of the check's landmark sets")


def test_ransac_ragged_inliers_are_named():
    r = clem_overlay.clem_ransac(lambda m, f, t: (np.eye(4), [[True], [True, False]]))
    failed(r, "inliers", "ragged")


@pytest.mark.parametrize(
    ("matrix", "words"),
    [
        (None, ("matrix", "None")),
        (np.full((4, 4), 1e300), ("matrix", "1e+300")),
        (RAGGED, ("matrix", "ragged")),
    ],
    ids=["None", "1e300", "ragged"],
)
def test_unusable_matrices_are_named(matrix, words):
    checks = [
        clem_overlay.clem_ransac(lambda m, f, t: (matrix, _true_inliers(m, f, t))),
        clem_checks.clem_landmark_fit(lambda m, f: matrix),
        clem_overlay.clem_matrix_for_xyz_tool(lambda m: matrix),
    ]
    for result in checks:
        failed(result, *words)
        assert "tuple index" not in result.message and "inf" not in result.message
