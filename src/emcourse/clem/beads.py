"""Fiducial beads: from photons to TRE, and the chromatic shift between two colour channels.

- :func:`bead_chain`: a bead's photons set its localisation precision
  (:mod:`emcourse.clem.localise`), which is the light-microscopy part of the
  FLE; with the EM's own localisation error it gives the FLE of
  :func:`~emcourse.clem.errors.fle_in_fixed`, and the regression TRE of an
  affine fit (:func:`~emcourse.clem.errors.tre_affine`) predicts the error at
  a target. :func:`bead_chain_monte_carlo` runs the whole chain on rendered
  bead images to check the prediction.
- Chromatic shift: a lens brings colours to slightly different places, a
  translation plus a small magnification difference about the optical axis.
  :func:`chromatic_standin` simulates multi-colour beads with a known shift;
  the shift is fitted as a similarity transform (channel A -> channel B) on
  the beads' positions, localised per channel; the correction maps channel B
  back onto A through the *inverse*.
"""

from __future__ import annotations

import numpy as np

from emcourse.clem.errors import fle_in_fixed, tre_affine
from emcourse.clem.localise import (
    localise_beads,
    mortensen_lsq_precision,
    mortensen_mle_precision,
    render_beads,
)
from emcourse.clem.transforms import apply, fit, make_transform, rotation_2d

__all__ = [
    "bead_chain",
    "bead_chain_monte_carlo",
    "bead_standin",
    "chromatic_standin",
    "localise_channels",
]

_FORMULA = {"lsq": mortensen_lsq_precision, "mle": mortensen_mle_precision}


def bead_standin(n_beads: int = 8, *, seed: int = 0) -> dict:
    """A seeded 2D bead set in light nm, a light -> EM affine and targets (known truth).

    Beads spread over a 12 x 12 µm field (at least 1 µm apart), the transform
    turns by 12°, scales by about 1.05 with a little shear and shifts by
    micrometres; three targets sit inside, at the edge and outside the beads.
    """
    rng = np.random.default_rng(seed)
    beads = []
    while len(beads) < n_beads:
        p = rng.uniform(2000, 14000, 2)
        if all(np.linalg.norm(p - q) > 1000 for q in beads):
            beads.append(p)
    beads = np.array(beads)
    lin = 1.05 * rotation_2d(12.0) @ np.array([[1.0, 0.03], [0.0, 0.98]])
    matrix = make_transform(linear=lin, translation=(1500.0, -800.0))
    targets = np.array([[8000.0, 8000.0], [13000.0, 3000.0], [17000.0, 17000.0]])
    return {"beads": beads, "matrix": matrix, "targets": targets}


def bead_chain(
    photons,
    *,
    sigma: float,
    pixel: float,
    background: float,
    sigma_em: float,
    beads,
    matrix,
    targets,
    method: str = "lsq",
) -> dict:
    """Photons -> per-axis light precision -> FLE (EM nm) -> predicted affine TRE at targets.

    Returns ``sigma_lm`` (per axis, nm, the Mortensen formula of ``method``),
    ``fle`` (RMS vector length in EM nm, both modalities) and ``tre`` (m,).
    """
    sigma_lm = float(_FORMULA[method](photons, sigma=sigma, pixel=pixel, background=background))
    fle = fle_in_fixed(matrix, sigma_lm, sigma_em)
    return {"sigma_lm": sigma_lm, "fle": fle, "tre": tre_affine(beads, targets, fle)}


def bead_chain_monte_carlo(
    photons,
    *,
    sigma: float,
    pixel: float,
    background: float,
    sigma_em: float,
    beads,
    matrix,
    targets,
    method: str = "lsq",
    n_trials: int = 300,
    seed: int = 0,
) -> dict:
    """The whole chain simulated: render every bead, fit it, fit the affine, measure the TRE.

    Each trial renders each bead's light image (Poisson photons), localises it
    (``method``), adds Gaussian EM localisation error (``sigma_em`` per axis)
    to the true EM positions, fits an affine light -> EM and measures the
    error at ``targets`` against ``matrix``. Returns the RMS TRE per target
    ``tre`` (m,), the light localisation RMS per axis ``sigma_lm`` and the
    RMS FLE in EM nm ``fle`` as simulated.
    """
    rng = np.random.default_rng(seed)
    p = np.asarray(beads, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    n, k = p.shape
    q = apply(matrix, p)
    truth_t = apply(matrix, t)
    tiled = np.tile(p, (n_trials, 1))
    st, org = render_beads(
        tiled, photons=photons, sigma=sigma, pixel=pixel, background=background, rng=rng
    )
    found = localise_beads(st, org, pixel=pixel, sigma0=sigma, method=method).reshape(
        n_trials, n, k
    )
    em = q + rng.standard_normal((n_trials, n, k)) * sigma_em
    tre2 = np.zeros(len(t))
    fle2 = 0.0
    for i in range(n_trials):
        m = fit(found[i], em[i], kind="affine")
        tre2 += np.sum((apply(m, t) - truth_t) ** 2, axis=1)
        fle2 += np.mean(np.sum((apply(matrix, found[i]) - em[i]) ** 2, axis=1))
    err = found - p
    return {
        "tre": np.sqrt(tre2 / n_trials),
        "sigma_lm": float(np.sqrt(np.mean(err**2))),
        "fle": float(np.sqrt(fle2 / n_trials)),
        "n_trials": n_trials,
    }


def chromatic_standin(
    n_beads: int = 30,
    *,
    shift=(60.0, -45.0),
    scale: float = 1.002,
    field: float = 40000.0,
    seed: int = 0,
) -> dict:
    """Multi-colour beads over a ``field`` nm square and a known chromatic transform A -> B.

    Channel B (the longer wavelength) is magnified by ``scale`` about the
    field's centre (the optical axis) and shifted by ``shift`` nm ``(y, x)``:
    lateral chromatic aberration of a corrected objective is of this order
    (tens of nanometres, a magnification difference of 0.1-0.3 %). Returns
    ``beads_a`` (n, 2) nm, ``beads_b`` their true positions in channel B, and
    ``matrix`` (A -> B).
    """
    rng = np.random.default_rng(seed)
    beads_a = rng.uniform(0.05 * field, 0.95 * field, (n_beads, 2))
    centre = np.full(2, field / 2)
    matrix = make_transform(linear=scale * np.eye(2))
    matrix[:2, 2] = centre - scale * centre + np.asarray(shift, dtype=np.float64)
    return {"beads_a": beads_a, "beads_b": apply(matrix, beads_a), "matrix": matrix}


def localise_channels(
    beads_a,
    beads_b,
    *,
    photons,
    sigma_a: float,
    sigma_b: float,
    pixel: float,
    background: float,
    seed: int = 0,
):
    """Render and localise (least-squares Gaussian fit) each bead in both channels.

    The PSF is wider in the longer-wavelength channel (``sigma_b``). Returns
    the localised positions ``(found_a, found_b)``, each (n, 2) nm.
    """
    rng = np.random.default_rng(seed)
    out = []
    for pos, s in ((beads_a, sigma_a), (beads_b, sigma_b)):
        st, org = render_beads(
            pos, photons=photons, sigma=s, pixel=pixel, background=background, rng=rng
        )
        out.append(localise_beads(st, org, pixel=pixel, sigma0=s))
    return out[0], out[1]
