"""Questions of the CLEM sheets: predict, then run; and interpret.

Each prediction computes its result from the data the sheet loaded (or from
seeded stand-ins where the truth is needed) only once the learner has
committed a number, and explains why the result is what it is. Each choice
question keeps its options, answer and the reason against every wrong option
here, in :data:`CHOICES`; the sheet shows the options in its text (a test
checks that it shows these).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.checks._core import CheckResult
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "clem_elastix_direction_choice",
    "clem_ellipse_coverage_prediction",
    "clem_four_landmarks_prediction",
    "clem_one_wrong_pair_prediction",
    "clem_ransac_threshold_choice",
    "clem_small_bead_prediction",
    "clem_stretched_overlay_choice",
    "clem_tre_where_choice",
]


def _rms(e) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def _unanswered(name: str, guess, explanation: str = "") -> CheckResult | None:
    """The "commit your prediction first" result, or None once a guess is set."""
    if unset(guess):
        return prediction(name, guess, 0.0, explanation=explanation)
    return None


# ------------------------------------------------------------------ sheet 30-01


def clem_small_bead_prediction(guess, pair) -> CheckResult:
    """Predict the FWHM (nm) of a 40 nm bead in the light image of ``pair``.

    The bead is rendered through the pair's Gaussian PSF on a fine grid and
    sampled at the light pixel size; its FWHM is measured as in task 2.
    """
    from scipy import ndimage

    from emcourse import clem

    name = "FWHM of a 40 nm bead in the light image"
    not_yet = _unanswered(name, guess)
    if not_yet is not None:
        return not_yet
    sigma, pixel, size, fine = float(pair.truth["psf_sigma"]), float(pair.lm_pixel), 40.0, 4.0
    n = int(round(12 * max(sigma, size) / fine))
    y, x = (np.mgrid[:n, :n] - n // 2) * fine
    image = ndimage.gaussian_filter(((y**2 + x**2) <= (size / 2) ** 2).astype(float), sigma / fine)
    step = max(int(round(pixel / fine)), 1)
    row = image[n // 2]
    width = clem.fwhm(row[(n // 2) % step :: step], pixel)
    psf = 2 * np.sqrt(2 * np.log(2)) * sigma
    return prediction(
        name,
        guess,
        width,
        rtol=0.1,
        units="nm",
        explanation=f"the light microscope images a 40 nm bead as little more than its "
        f"point-spread function, whose FWHM is 2.355 x {sigma:.0f} = {psf:.0f} nm; a small "
        f"object widens it roughly in quadrature (sqrt({psf:.0f}² + 40²) = "
        f"{np.hypot(psf, size):.0f} nm), and sampling every {pixel:.0f} nm adds a little. "
        "Objects much smaller than the PSF all look alike: its width is the resolution.",
        diagnoses=[
            (
                size,
                "that is the bead's own size: a light microscope shows a small object "
                "blurred by its point-spread function.",
            ),
            (
                sigma,
                "that is the PSF's standard deviation (and here the pixel size too); its "
                "full width at half maximum is about 2.355 times larger.",
            ),
            (
                psf + size,
                "widths of blurred blobs add roughly in quadrature, not linearly: a "
                "small object hardly widens the PSF.",
            ),
        ],
    )


# ------------------------------------------------------------------ sheet 30-02


def clem_four_landmarks_prediction(guess, landmarks) -> CheckResult:
    """Predict the FRE (nm) of a 3D affine fit to the first four of ``landmarks``."""
    from emcourse import clem

    name = "FRE of an affine fit to four landmarks"
    not_yet = _unanswered(name, guess)
    if not_yet is not None:
        return not_yet
    p, q = np.asarray(landmarks.moving, float), np.asarray(landmarks.fixed, float)
    m4 = clem.fit(p[:4], q[:4], kind="affine")
    fre4 = clem.fre(m4, p[:4], q[:4])
    fre4 = fre4 if fre4 > 1e-6 else 0.0  # rounding noise of an exact fit
    others = _rms(np.linalg.norm(clem.apply(m4, p[4:]) - q[4:], axis=1))
    fre_all = clem.fre(clem.fit(p, q, kind="affine"), p, q)
    return prediction(
        name,
        guess,
        fre4,
        rtol=0.0,
        atol=5.0,
        units="nm",
        explanation="four pairs give 12 equations for the 12 parameters of a 3D affine "
        "transform: the fit passes through all four exactly, whatever their clicking errors, so "
        f"its FRE is 0. The same fit misses the other {len(p) - 4} landmarks by {others:.0f} nm "
        f"RMS, while a fit to all {len(p)} has an FRE of {fre_all:.0f} nm. FRE says how far a "
        "model can bend to its own landmarks, not how right it is: judge a fit by TRE or "
        "leave-one-out.",
        diagnoses=[
            (
                fre_all,
                "that is about the FRE of a fit to all the landmarks: the fewer pairs a "
                "fit has to satisfy, the smaller its residuals, down to none.",
            ),
        ],
    )


# ------------------------------------------------------------------ sheet 30-03


def clem_one_wrong_pair_prediction(guess, landmarks) -> CheckResult:
    """Predict how many times worse the affine TRE gets when one of ``landmarks``'
    EM points is moved 5 µm (a click on the wrong bead)."""
    from emcourse import clem

    name = "TRE with one wrong pair, as a multiple of the clean fit's"
    not_yet = _unanswered(name, guess)
    if not_yet is not None:
        return not_yet
    truth, targets = landmarks.truth["matrix"], landmarks.truth["targets"]
    clean = _rms(clem.target_errors(clem.fit(landmarks.moving, landmarks.fixed), truth, targets))
    fixed = np.array(landmarks.fixed, dtype=float)
    fixed[0] += (0.0, 3000.0, 4000.0)[-fixed.shape[1] :]
    dirty = _rms(clem.target_errors(clem.fit(landmarks.moving, fixed), truth, targets))
    return prediction(
        name,
        guess,
        dirty / clean,
        rtol=0.5,
        units="x",
        explanation=f"one pair 5 µm off takes the TRE from {clean:.0f} nm to {dirty:.0f} nm. "
        "Least squares minimises the sum of squared misses, so a 5 µm miss weighs as much as "
        "ten thousand misses of 50 nm: the fit tilts and stretches to shorten it, and every "
        "target pays. Averaging does not dilute a gross error; RANSAC tests small samples "
        "instead.",
        diagnoses=[
            (
                1.0,
                "one wrong pair does not average out among twenty: least squares weighs each "
                "pair by its squared miss, so a gross error dominates the fit.",
            ),
        ],
    )


# ------------------------------------------------------------------ sheet 30-04


def _coverage(seed: int, target_sd: float) -> np.ndarray:
    """For the lysosome puncta of stand-in pair ``seed``: is the true lysosome inside the
    95 % ellipse of the mapped punctum (as in lesson 4)?"""
    from scipy.spatial import cKDTree

    from emcourse import clem

    pair = clem.standin_pair(seed=seed)
    beads = pair.truth["landmarks"]
    matrix = clem.fit(beads.moving, beads.fixed, kind="affine")
    fle = clem.fle_from_fre(clem.fre(matrix, beads.moving, beads.fixed), len(beads), 2, "affine")
    lyso, mito = pair.lm[1], pair.lm[0]
    background = np.median(lyso)
    spots = clem.spot_centres(
        lyso, pixel=pair.lm_pixel, threshold=background + 0.3 * (lyso.max() - background)
    )
    idx = np.round(spots / pair.lm_pixel).astype(int)
    is_bead = mito[idx[:, 0], idx[:, 1]] > np.median(mito) + 0.3 * (mito.max() - np.median(mito))
    targets_lm = spots[~is_bead]
    targets_em = clem.apply(matrix, targets_lm)
    cov = clem.target_covariance(
        beads.moving, beads.fixed, targets_lm, kind="affine", fle=fle, target_sd=target_sd
    )
    truth = pair.truth["lyso_centres"]
    _, j = cKDTree(truth).query(targets_em)
    r = targets_em - truth[j]
    mahal2 = np.einsum("ij,ijk,ik->i", r, np.linalg.inv(cov), r)
    return mahal2 <= -2 * np.log(1 - 0.95)


def clem_ellipse_coverage_prediction(guess) -> CheckResult:
    """Predict the percentage of true lysosomes inside 95 % ellipses built from the fit's
    uncertainty alone (six stand-in pairs of lesson 4, pooled)."""
    name = "coverage of 95 % ellipses that hold only the fit's error"
    not_yet = _unanswered(name, guess)
    if not_yet is not None:
        return not_yet
    seeds = range(6)
    fit_only = np.concatenate([_coverage(s, 0.0) for s in seeds])
    full = np.concatenate([_coverage(s, float(np.hypot(15.0, 40.0))) for s in seeds])
    return prediction(
        name,
        guess,
        100 * fit_only.mean(),
        rtol=0.0,
        atol=20.0,
        units="%",
        explanation=f"without the target's own error the 95 % ellipses hold the true lysosome "
        f"for only {100 * fit_only.mean():.0f} % of {len(fit_only)} puncta on six stand-in "
        f"pairs ({100 * full.mean():.0f} % with it). The fit alone is well determined, but the "
        "stain sits about 40 nm off its organelle and the punctum is localised to about 15 nm: "
        "an ellipse claims 95 % only if it holds every source of error.",
        diagnoses=[
            (
                95.0,
                "95 % holds only when the ellipse includes every source of error: here the "
                "stain's offset from its organelle and the punctum's own localisation are left "
                "out.",
            ),
        ],
    )


# ------------------------------------------------------------------ choices

CHOICES: dict[str, dict] = {
    "clem_stretched_overlay_choice": {
        "name": "which test shows that an overlay is right",
        "options": {
            "a": "The fluorescent blobs sit on organelles of the right kind.",
            "b": "After stretching, the two fields of view match.",
            "c": "Features not used to make the overlay (beads) are found in both images, and "
            "their distance is measured in nanometres.",
            "d": "The correlation between the EM and the fluorescence is high.",
        },
        "correct": "c",
        "explanation": "only a distance in physical units, at points the transform was not made "
        "from, measures an overlay. The lesson's stretched overlay looked plausible and was off "
        "by micrometres at the beads.",
        "why_not": {
            "a": "in a crowded cell a blob lands on some organelle whatever the transform: an "
            "overlay can look plausible and be off by micrometres.",
            "b": "stretching forces the arrays to one size; it says nothing about the pixel "
            "sizes, the rotation or the offset between the two images.",
            "d": "EM and fluorescence show different things with different contrast: their "
            "correlation does not say where a point lands.",
        },
    },
    "clem_tre_where_choice": {
        "name": "where an affine fit to a slab of landmarks is worst",
        "options": {
            "a": "At the landmarks' centroid.",
            "b": "At a landmark near the edge of the slab, 5 µm from the centroid.",
            "c": "One micrometre above the slab, over its centroid.",
            "d": "Nowhere in particular: a fit has one TRE.",
        },
        "correct": "c",
        "explanation": "the affine lever (r - c)^T S^-1 (r - c) measures the distance from the "
        "centroid against the landmarks' spread in that direction. The slab is thin in z, so "
        "1 µm out of it weighs more than several µm within it, as lesson 2 measured on the real "
        "clicks. Click landmarks that surround the target, "
        "in depth too.",
        "why_not": {
            "a": "TRE is smallest at the centroid, where only the 1/N term remains.",
            "b": "within the slab's plane the landmarks spread over more than 10 µm, so the "
            "lever stays small there.",
            "d": "TRE depends on where the target is: it grows with the distance from the "
            "centroid, measured against the landmarks' spread in that direction.",
        },
    },
    "clem_ransac_threshold_choice": {
        "name": "a RANSAC threshold",
        "options": {
            "a": "50 nm, to keep only the best pairs.",
            "b": "600 nm.",
            "c": "20 µm, to be safe.",
            "d": "It does not matter: RANSAC finds the wrong pairs by itself.",
        },
        "correct": "b",
        "explanation": "the threshold separates right pairs from wrong ones: several times the "
        "localisation error, so that right pairs agree despite their errors, and far below the "
        "size of a mistake, so that wrong pairs do not.",
        "why_not": {
            "a": "below the localisation error right pairs miss the fit by more than the "
            "threshold and are thrown out: few inliers, a noisy fit, no clear winner.",
            "c": "above the size of a mistake wrong pairs count as inliers, and the final "
            "least-squares refit takes them in again.",
            "d": "the threshold is RANSAC's one decision: it defines what agreeing with a fit "
            "means.",
        },
    },
    "clem_elastix_direction_choice": {
        "name": "which way an elastix transform runs",
        "options": {
            "a": "Apply the file's matrix to the spot.",
            "b": "Invert the file's transform (in its own axes, x first, and units, µm) and "
            "apply the inverse.",
            "c": "Transpose the 3 x 3 part and apply it.",
            "d": "Either: an affine transform works in both directions.",
        },
        "correct": "b",
        "explanation": "elastix resamples the moving image onto the fixed grid, so for every "
        "fixed (EM) pixel it needs the moving (light) position: its transform runs from EM to "
        "light. Light to EM is its inverse, taken in the file's own axis order and units.",
        "why_not": {
            "a": "elastix maps points of the fixed image to the moving image (EM to light "
            "here): applied to a light point it goes the wrong way.",
            "c": "a transpose is the inverse only of a pure rotation; an affine fit has scale "
            "and shear, and its translation must be inverted too.",
            "d": "a matrix maps one way; the other way is its inverse, a different matrix.",
        },
    },
}


def _choice(task: str) -> Callable:
    def ask(answer) -> CheckResult:
        return choice(answer=answer, **CHOICES[task])

    ask.__name__ = ask.__qualname__ = task
    ask.__doc__ = f"Interpretation question: {CHOICES[task]['name']} (options in CHOICES)."
    return ask


clem_stretched_overlay_choice = _choice("clem_stretched_overlay_choice")
clem_tre_where_choice = _choice("clem_tre_where_choice")
clem_ransac_threshold_choice = _choice("clem_ransac_threshold_choice")
clem_elastix_direction_choice = _choice("clem_elastix_direction_choice")
