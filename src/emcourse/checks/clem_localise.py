"""Checks of the CLEM sheet "Localise beads and correct chromatic shift".

Tasks: the least-squares localisation precision from a measured FWHM, locating a spot, and
correcting a chromatic shift; questions: the precision at four times the photons, and which
way a chromatic correction runs. Every diagnosis is a typical mistake computed, not guessed:
the value it would give is worked out here and matched against the learner's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "clem_chromatic_correction",
    "clem_chromatic_direction_choice",
    "clem_four_times_photons_prediction",
    "clem_localise_spot",
    "clem_lsq_precision",
]

FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))  # 2.3548

# (photons, FWHM in pixels, pixel in nm, background photons per pixel)
_PRECISION_CASES = [(1000, 2.355, 100.0, 10.0), (5000, 3.0, 65.0, 2.0), (300, 2.0, 160.0, 20.0)]


def clem_lsq_precision(fn: Callable) -> CheckResult:
    """Check ``fn(photons, fwhm_px, pixel_nm, background) -> nm``: a least-squares precision."""
    from emcourse import clem

    def each(f):
        return tuple(float(f(n, w, a, b)) for n, w, a, b in _PRECISION_CASES)

    def lsq(s_nm, a, n, b):
        return float(clem.mortensen_lsq_precision(n, sigma=s_nm, pixel=a, background=b))

    expected = each(lambda n, w, a, b: lsq(w * a / FWHM_PER_SIGMA, a, n, b))
    as_sigma = each(lambda n, w, a, b: lsq(w * a, a, n, b))
    in_pixels = each(lambda n, w, a, b: lsq(w / FWHM_PER_SIGMA, a, n, b))
    thompson = each(
        lambda n, w, a, b: float(
            clem.thompson_precision(n, sigma=w * a / FWHM_PER_SIGMA, pixel=a, background=b)
        )
    )
    diagnoses = [
        (
            tuple(v**2 for v in expected),
            "that is a variance (nm²): the precision is its square root, a standard deviation.",
        ),
        (
            as_sigma,
            "you used the FWHM as the PSF's standard deviation: the standard deviation is the "
            "FWHM divided by 2 sqrt(2 ln 2), about 2.355.",
        ),
        (
            in_pixels,
            "the PSF's width is still in pixels while the pixel size is in nanometres: convert "
            "the width to nanometres with the pixel size first.",
        ),
        (
            thompson,
            "that is Thompson's formula: a least-squares fit on Poisson data has Mortensen's "
            "factor 16/9 in variance, and the pixel-widened PSF in the background term.",
        ),
    ]

    def call_all(_):
        return each(fn)

    call_all.__name__ = getattr(fn, "__name__", "your function")

    return check_function(
        call_all,
        None,
        name="precision of a least-squares fit",
        expected=expected,
        rtol=1e-3,
        units="nm",
        what="precisions",
        diagnoses=diagnoses,
        hint=(
            "the formula wants the PSF's standard deviation, and every length in one unit.",
            "s = FWHM / (2 sqrt(2 ln 2)) x pixel size; sa² = s² + a²/12; variance = "
            "(sa²/N)(16/9 + 8 pi sa² b²/(N a²)); return the standard deviation.",
        ),
    )


def _spot_set(n=60, seed=11):
    from emcourse import clem

    rng = np.random.default_rng(seed)
    truth = 500.0 + rng.uniform(-150, 150, (n, 2))
    st = clem.render_spots(truth, photons=2000, sigma=100.0, pixel=100.0, background=10, rng=rng)
    return truth, st


def clem_localise_spot(fn: Callable) -> CheckResult:
    """Check ``fn(window, pixel_nm) -> (y, x)`` nm: the centre of one spot, to a fit's precision.

    60 windows of 11 x 11 pixels (100 nm, PSF s = 100 nm, 2,000 photons on 10 per pixel), pixel
    (0, 0) centred at (0, 0) nm. Passes when the RMS error per axis is within 1.3 times the
    least-squares formula's: over 120 axis errors the RMS carries a 6.5 % standard error, so a
    least-squares fit fails by chance with probability about 1e-5; a centroid (about 2.5
    times worse) cannot pass.
    """
    from emcourse import clem

    truth, st = _spot_set()
    sigma = float(clem.mortensen_lsq_precision(2000, sigma=100.0, pixel=100.0, background=10))
    tol = 1.3 * sigma

    def rms(pos):
        return float(np.sqrt(np.mean((np.asarray(pos, dtype=float) - truth) ** 2)))

    ref = clem.fit_gaussian(st, pixel=100.0, sigma0=100.0)[:, :2]
    with np.errstate(all="ignore"):
        raw = clem.centroid(st, pixel=100.0, background=0.0)
    diagnoses = [
        (rms(ref / 100.0), "your positions look like pixels: multiply by the pixel size."),
        (rms(ref[:, ::-1]), "your positions come in (x, y) order; the course uses (y, x)."),
        (
            rms(raw),
            "the background pulls your centre towards the middle of the window: subtract it "
            "(or fit it) first.",
        ),
        (
            rms(clem.centroid(st, pixel=100.0)),
            "that is what a background-subtracted centroid reaches: a Gaussian fit uses the "
            "shape of the spot and is about two and a half times more precise here.",
        ),
    ]

    def call_all(_):
        return np.array([np.asarray(fn(w.copy(), 100.0), dtype=float) for w in st])

    call_all.__name__ = getattr(fn, "__name__", "your function")

    return check_function(
        call_all,
        None,
        name="spot centre",
        expected=truth,
        measure=rms,
        target=0.0,
        atol=tol,
        units="nm",
        what="RMS error per axis",
        diagnoses=diagnoses,
        hint=(
            "a spot is a Gaussian plus a flat background: fit that model to the pixel values.",
            "scipy.optimize.curve_fit with a model of (y, x, photons, width, background), "
            "e.g. clem.spot_model, started at the brightest pixel; return the fitted (y, x).",
        ),
    )


def _chromatic_case():
    from emcourse import clem

    cs = clem.chromatic_standin(30, seed=7)
    green, red = clem.localise_channels(
        cs["beads_a"], cs["beads_b"], photons=3000, sigma_a=100.0, sigma_b=115.0,
        pixel=100.0, background=5.0, seed=8,
    )  # fmt: skip
    targets = np.array(
        [[2000.0, 2000.0], [2000.0, 38000.0], [38000.0, 2000.0], [38000.0, 38000.0],
         [20000.0, 20000.0], [20000.0, 39000.0]]
    )  # fmt: skip
    return green, red, targets, clem.apply(cs["matrix"], targets)


def clem_chromatic_correction(fn: Callable) -> CheckResult:
    """Check ``fn(green, red, points_red) -> points`` (n, 2) nm: red points in the green frame.

    30 two-colour beads localised in both channels (a 0.2 % magnification difference and a
    shift of about 75 nm, known); six points at the corners, edges and centre of the 40 µm
    field. Tolerance 20 nm per coordinate: a similarity fit on 30 beads leaves a few nm at
    the corners; the magnification difference alone is 40 nm there.
    """
    from emcourse import clem

    green, red, truth, points_red = _chromatic_case()
    g2r = clem.fit(green, red, kind="similarity")
    shift = (red - green).mean(axis=0)
    diagnoses = [
        (
            clem.apply(g2r, points_red),
            "channels swapped: you applied the green-to-red fit to red points, which adds the "
            "shift a second time; apply its inverse, or fit red to green.",
        ),
        (points_red, "those are the red positions unchanged."),
        (
            points_red - shift,
            "a translation alone leaves the magnification difference, which grows towards the "
            "field's edges: fit a similarity (shift, rotation and one scale).",
        ),
    ]

    def call(_):
        return np.asarray(fn(green.copy(), red.copy(), points_red.copy()), dtype=float)

    call.__name__ = getattr(fn, "__name__", "your function")
    return check_function(
        call,
        None,
        name="chromatic correction",
        expected=truth,
        rtol=0.0,
        atol=20.0,
        units="nm",
        what="corrected points",
        diagnoses=diagnoses,
        hint=(
            "the beads give pairs of the same point in both channels: fit a transform to them.",
            "fit a similarity from red beads to green beads (clem.fit(red, green, "
            "kind='similarity')) and apply it to the points (clem.apply).",
        ),
    )


def clem_four_times_photons_prediction(guess) -> CheckResult:
    """Predict the least-squares precision (nm) at 4,000 photons of the sheet's bead, which has
    a precision of about 4.5 nm at 1,000 photons on 10 background photons per pixel."""
    from emcourse import clem

    name = "precision at four times the photons"
    kw = {"sigma": 100.0, "pixel": 100.0, "method": "lsq", "n_draws": 400, "seed": 4}
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")

    def formula(n):
        return float(clem.mortensen_lsq_precision(n, sigma=100.0, pixel=100.0, background=10))

    at_1000 = float(clem.precision_monte_carlo([1000], [10], **kw)["rms"][0, 0])
    at_4000 = float(clem.precision_monte_carlo([4000], [10], **kw)["rms"][0, 0])
    return prediction(
        name,
        guess,
        at_4000,
        rtol=0.15,
        units="nm",
        explanation=f"a Monte Carlo of 400 spots gives {at_1000:.1f} nm at 1,000 photons and "
        f"{at_4000:.1f} nm at 4,000. Without background the precision falls as 1/sqrt(N): "
        "four times the photons halve it. The background term falls faster (1/N in standard "
        "deviation), so with background the precision falls to a little less than half: "
        f"Mortensen's formula gives {formula(4000) / formula(1000):.2f} of it here (each "
        "Monte Carlo value carries about 2.5 % noise).",
        diagnoses=[
            (
                at_1000 / 4,
                "a quarter is how the variance falls; the standard deviation falls by the "
                "square root of four.",
            ),
            (at_1000, "more photons do help: each photon is one more sample of the PSF."),
        ],
    )


CHOICES: dict[str, dict] = {
    "clem_chromatic_direction_choice": {
        "name": "which way a chromatic correction runs",
        "options": {
            "a": "Apply g2r to the red points.",
            "b": "Apply clem.invert(g2r) to the red points.",
            "c": "Subtract the mean red-minus-green shift of the beads.",
            "d": "Nothing: 90 nm is below the resolution.",
        },
        "correct": "b",
        "explanation": "g2r maps green positions onto red ones; a red point goes back to the "
        "green frame through its inverse. Name the direction of every fitted transform.",
        "why_not": {
            "a": "g2r maps green onto red: applied to red points it adds the shift a second "
            "time, and the error doubles.",
            "c": "a translation leaves the magnification difference, which grows with the "
            "distance from the optical axis.",
            "d": "the resolution limits separating two structures, not placing one: a 90 nm "
            "offset is far larger than the beads' localisation error and shows in every "
            "overlay.",
        },
    },
}


def clem_chromatic_direction_choice(answer) -> CheckResult:
    """Interpretation question: which way a chromatic correction runs (options in CHOICES)."""
    return choice(answer=answer, **CHOICES["clem_chromatic_direction_choice"])
