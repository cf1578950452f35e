"""Checks of the tomogram sheets: right answers pass, typical mistakes fail, answers stay hidden."""

import numpy as np
import pytest

from emcourse import checks, sta
from emcourse.checks import tomograms


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def dose_symmetric(max_angle, step):
    n = int(round(max_angle / step))
    order = [0.0, step]
    k_pos, k_neg, side = 2, 1, -1
    while len(order) < 2 * n + 1:
        for _ in range(2):
            if side < 0 and k_neg <= n:
                order.append(-k_neg * step)
                k_neg += 1
            elif side > 0 and k_pos <= n:
                order.append(k_pos * step)
                k_pos += 1
        side = -side
    return np.array(order)


def radermacher(deg):
    a = np.deg2rad(deg)
    return np.sqrt((a + np.sin(a) * np.cos(a)) / (a - np.sin(a) * np.cos(a)))


def nms(scores, min_distance, threshold):
    cand = np.argwhere(scores > threshold)
    cand = cand[np.argsort(-scores[tuple(cand.T)], kind="stable")]
    kept = []
    for p in cand:
        if all(np.sum((p - q) ** 2) >= min_distance**2 for q in kept):
            kept.append(p)
    return np.array(kept).reshape(-1, 3)


def all_pairs(found, truth, tol):
    d = np.linalg.norm(np.asarray(found)[:, None] - np.asarray(truth)[None], axis=-1)
    n = float((d <= tol).sum())
    return n / len(found), n / len(truth)


def no_suppression(scores, min_distance, threshold):
    cand = np.argwhere(scores > threshold)
    return cand[np.argsort(-scores[tuple(cand.T)], kind="stable")]


def stub(*args):
    raise NotImplementedError("replace this line with your code")


RIGHT = {
    "dose_symmetric_order": dose_symmetric,
    "wedge_fraction": lambda r: (180 - (r[1] - r[0])) / 180,
    "crowther_step": lambda d, res: np.rad2deg(res / d),
    "picking_scores": lambda f, t, tol: sta.precision_recall(f, t, tolerance=tol),
    "nms_peaks": nms,
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_answers_pass_and_stubs_are_not_done(name):
    check = getattr(checks, name)
    assert check(RIGHT[name]).passed
    r = check(stub)
    assert not r.passed and r.status == "not done"


def test_wedge_fraction_by_counting_passes():
    def counted(tilt_range):
        w = sta.wedge_mask((48, 48, 48), tilt_range=tilt_range, rfft=False)
        k = np.sqrt(sum(g**2 for g in np.meshgrid(*[np.fft.fftfreq(48)] * 3, indexing="ij")))
        return 1 - float(w[k <= 0.5].mean())

    assert checks.wedge_fraction(counted).passed


@pytest.mark.parametrize(
    ("name", "wrong", "says"),
    [
        ("dose_symmetric_order", lambda m, s: np.arange(-m, m + s / 2, s), "sorted order"),
        ("wedge_fraction", lambda r: (r[1] - r[0]) / 180, "fraction measured"),
        ("crowther_step", lambda d, res: res / d, "radians"),
        ("crowther_step", lambda d, res: np.rad2deg(2 * res / d), "half a resolution element"),
        ("crowther_step", lambda d, res: np.rad2deg(res / (2 * d)), "radius D / 2"),
        (
            "picking_scores",
            lambda f, t, tol: sta.precision_recall(f, t, tolerance=tol)[::-1],
            "order",
        ),
        (
            "dose_symmetric_order",
            lambda m, s: sta.tilt_scheme(min_angle=-m, max_angle=m, step=s, group=1),
            "one tilt at a time",
        ),
        ("dose_symmetric_order", tomograms._pairs_from_zero, "two positive tilts"),
        ("wedge_fraction", lambda r: (360 - (r[1] - r[0])) / 360, "not 360"),
        ("wedge_fraction", lambda r: (90 - r[1]) / 90, "only max_tilt"),
        ("picking_scores", all_pairs, "every pair"),
        ("nms_peaks", lambda s, md, th: nms(s, md, th)[:, ::-1], "(x, y, z)"),
        ("nms_peaks", no_suppression, "suppression is missing"),
        ("nms_peaks", lambda s, md, th: nms(s, md, th)[:3], "some are missing"),
        ("nms_peaks", lambda s, md, th: nms(s, md, th)[::-1], "not strongest first"),
    ],
)
def test_typical_mistakes_get_their_hint(name, wrong, says):
    r = getattr(checks, name)(wrong)
    assert not r.passed
    assert says in r.diagnosis


def test_hints_come_in_steps_and_never_repeat():
    from emcourse.checks import _ladder

    _ladder.reset()
    wrong = [checks.crowther_step(lambda d, res: 1.0) for _ in range(3)]
    assert [r.hint_step for r in wrong] == [0, 1, 2]
    shown = [str(r).splitlines()[-1] for r in wrong]
    assert shown[0].startswith("  Hint 1 of 2") and shown[1].startswith("  Hint 2 of 2")
    assert shown[1] == shown[2]  # the last step stays
    assert checks.crowther_step(stub).hint_step is None  # a stub gets none


def test_crowther_geometry_passes_and_agrees_with_sta():
    """Rim at D / 2 moves delta * D / 2; allowing d / 2 gives delta = d / D."""

    def geometry(diameter, resolution):
        rim_radius, allowed = diameter / 2, resolution / 2
        return np.rad2deg(allowed / rim_radius)

    assert checks.crowther_step(geometry).passed
    assert checks.crowther_step(lambda d, res: sta.crowther_step(d, res)).passed


def test_duplicate_picks_are_false_positives():
    def naive(found, truth, tol):
        d = np.linalg.norm(np.asarray(found)[:, None] - np.asarray(truth)[None], axis=-1)
        return float((d.min(axis=1) <= tol).mean()), float((d.min(axis=0) <= tol).mean())

    r = checks.picking_scores(naive)
    assert not r.passed


def test_nms_without_suppression_or_order_fails():
    assert not checks.nms_peaks(lambda s, md, th: np.argwhere(s > th)).passed
    r = checks.nms_peaks(lambda s, md, th: nms(s, md, th)[::-1])
    assert not r.passed and "strongest first" in r.diagnosis
    r = checks.nms_peaks(lambda s, md, th: None)
    assert not r.passed


def test_reference_values_are_not_revealed():
    r = checks.crowther_step(lambda d, res: 1.0)
    assert f"{np.rad2deg(30 / 250):.3g}" not in str(r)


def test_nms_reference_is_plain_greedy_suppression():
    """A greedy answer passes even where the local-maximum prefilter would differ."""
    scores = np.zeros((9, 9, 21), np.float32)
    scores[4, 4, [4, 8, 12]] = [3.0, 2.0, 1.5]  # a chain: 8 suppressed by 4, 12 survives
    scores[4, 4, 9] = 2.5  # a voxel beside 8 that is higher than it
    greedy = nms(scores, 4.5, 0.5)
    assert len(tomograms._greedy_nms(scores, 4.5, 0.5)) == len(greedy)
    np.testing.assert_array_equal(tomograms._greedy_nms(scores, 4.5, 0.5), greedy)
    assert not np.array_equal(sta.find_peaks(scores, min_distance=4.5, threshold=0.5), greedy)


def test_picks_on_tomogram_names_a_missing_suppression():
    scores = tomograms._score_map(seed=2)
    truth = np.array([(6, 7, 8), (16, 20, 24)])
    kw = {"min_distance": 4.0, "threshold": 0.5, "tolerance": 1.0}
    r = checks.picks_on_tomogram(no_suppression, scores, truth, **kw)
    assert not r.passed and "suppression is missing" in r.diagnosis


def test_picks_on_tomogram_reports_precision_and_recall():
    scores = tomograms._score_map(seed=2)
    truth = np.array([(6, 7, 8), (16, 20, 24), (12, 6, 24), (18, 9, 9), (9, 21, 12)])
    kw = {"min_distance": 4.0, "threshold": 0.5, "tolerance": 1.0}
    r = checks.picks_on_tomogram(nms, scores, truth, **kw)
    p, rec = sta.precision_recall(nms(scores, 4.0, 0.5), truth, tolerance=1.0)
    assert r.passed and f"precision {p:.2f}, recall {rec:.2f}" in r.message
    r = checks.picks_on_tomogram(lambda s, md, th: np.argwhere(s > th), scores, truth, **kw)
    assert not r.passed and "precision" in r.message
    r = checks.picks_on_tomogram(stub, scores, truth, **kw)
    assert not r.passed and r.status == "not done"


def test_score_map_has_close_pairs():
    scores = tomograms._score_map()
    peaks = sta.find_peaks(scores, min_distance=4.0, threshold=0.5)
    assert len(peaks) == 5  # 7 blobs, two suppressed by a stronger neighbour
    np.testing.assert_array_equal(nms(scores, 4.0, 0.5), peaks)
