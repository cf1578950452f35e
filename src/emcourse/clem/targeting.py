"""Cryo-CLEM targeting: a 3D fluorescence position placed in a 2D FIB or SEM view.

The model of 3DCT (Arnold et al. 2016, Biophys. J. 110, 860-869), whose solver
is pyto's ``Rigid3D.find_32``: a 3D rotation ``R``, one isotropic scale ``s``
and a translation, applied to the light positions ``p`` (z, y, x), of which
the image keeps the two in-plane coordinates::

    q = [s R p]_(y, x) + t,       t in 2D (a shift along the beam is invisible).

Six parameters (three angles, a scale, two shifts) fitted by least squares to
bead pairs (3D in the light volume, 2D in the ion-beam image). Its error at a
target is propagated two ways here: Monte Carlo (re-click the beads, refit)
and linearised (numerical derivatives of the fit, ``J C J^T``); the tests hold
them together.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.spatial.transform import Rotation

__all__ = [
    "fib_standin",
    "fit_3dct",
    "map_3dct",
    "targeting_covariance",
    "targeting_monte_carlo",
]


def _rows(rotvec) -> np.ndarray:
    return Rotation.from_rotvec(rotvec).as_matrix()[1:]  # the (y, x) rows


def map_3dct(model: dict, points) -> np.ndarray:
    """Project 3D light points (z, y, x) into the 2D image (y, x) with a fitted model."""
    p = np.atleast_2d(np.asarray(points, dtype=np.float64))
    return model["scale"] * p @ _rows(model["rotvec"]).T + model["shift"]


def _initial(p, q):
    """Start from a 2x3 affine projection, snapped to a scaled rotation's two rows."""
    a = np.hstack([p, np.ones((len(p), 1))])
    sol, *_ = np.linalg.lstsq(a, q, rcond=None)
    b = sol[:3].T  # (2, 3)
    u, sv, vt = np.linalg.svd(b, full_matrices=False)
    rows = u @ vt  # nearest matrix with orthonormal rows
    full = np.vstack([np.cross(rows[0], rows[1]), rows])  # det +1: z row = y x x
    return Rotation.from_matrix(full).as_rotvec(), float(sv.mean())


def fit_3dct(light, image) -> dict:
    """Least-squares 3D-to-2D rigid-plus-scale fit (3DCT's model).

    Parameters
    ----------
    light : (n, 3) array
        Bead positions in the light volume, nm, (z, y, x), z already in true depth.
    image : (n, 2) array
        The same beads in the FIB or SEM image, nm, (y, x).

    Returns
    -------
    dict
        ``rotvec`` (rotation vector, rad), ``scale``, ``shift`` (2,),
        ``rms`` (residual, nm).
    """
    p = np.asarray(light, dtype=np.float64)
    q = np.asarray(image, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or q.shape != (len(p), 2):
        raise ValueError(
            f"light must be (n, 3) and image (n, 2) with the same n: found {p.shape}, {q.shape}."
        )
    if len(p) < 4:
        raise ValueError(f"a 3D-to-2D fit needs at least 4 beads, found {len(p)}.")
    cp, cq = p.mean(0), q.mean(0)
    p0, q0 = p - cp, q - cq
    rv, s = _initial(p0, q0)

    def resid(x):
        return (np.exp(x[3]) * p0 @ _rows(x[:3]).T - q0).ravel()

    x0 = np.r_[rv, np.log(s)]
    res = optimize.least_squares(resid, x0, method="lm", xtol=1e-12, ftol=1e-12)
    rotvec, scale = res.x[:3], float(np.exp(res.x[3]))
    shift = cq - scale * _rows(rotvec) @ cp
    model = {"rotvec": rotvec, "scale": scale, "shift": shift}
    model["rms"] = float(np.sqrt(np.mean(np.sum((map_3dct(model, p) - q) ** 2, axis=1))))
    return model


def fib_standin(
    n_beads: int = 12,
    *,
    milling_angle_deg: float = 15.0,
    sigma_light=(120.0, 30.0, 30.0),
    sigma_image: float = 25.0,
    target=(3000.0, 9000.0, 11000.0),
    seed: int = 0,
) -> dict:
    """Beads on a grid seen by a light microscope and by a FIB at a glancing angle (stand-in).

    Beads lie on the support (z about 0) and on the surface of a cell up to
    4 um thick, in a 20 um field. The ion beam looks at the grid at
    ``milling_angle_deg`` to its plane, so the image's vertical axis mixes
    depth (cos) and the grid's y (sin). Light clicks have per-axis errors
    ``sigma_light`` (worse in z), image clicks ``sigma_image``.

    Returns
    -------
    dict
        ``light`` (n, 3) and ``image`` (n, 2) clicked beads, ``light_true``,
        ``truth`` (a model dict), ``target`` (3D), ``target_image`` (true 2D),
        the sigmas.
    """
    rng = np.random.default_rng(seed)
    yx = rng.uniform(0, 20000, (n_beads, 2))
    on_cell = rng.uniform(size=n_beads) < 0.5
    z = np.where(on_cell, rng.uniform(1500, 4000, n_beads), rng.uniform(0, 200, n_beads))
    light_true = np.c_[z, yx]
    # the beam: tilt about the x axis by 90 - milling angle (grid normal -> image plane)
    tilt = np.deg2rad(90.0 - milling_angle_deg)
    truth = {  # rotation about x, the last of (z, y, x)
        "rotvec": np.array([0.0, 0.0, tilt]),
        "scale": 1.0,
        "shift": np.array([2000.0, -1500.0]),
    }
    sl = np.asarray(sigma_light, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    return {
        "light": light_true + rng.standard_normal((n_beads, 3)) * sl,
        "image": map_3dct(truth, light_true) + rng.standard_normal((n_beads, 2)) * sigma_image,
        "light_true": light_true,
        "truth": truth,
        "target": t,
        "target_image": map_3dct(truth, t)[0],
        "sigma_light": sl,
        "sigma_image": float(sigma_image),
        "milling_angle_deg": float(milling_angle_deg),
    }


def targeting_monte_carlo(
    light_true, truth, target, *, sigma_light, sigma_image, n_trials=1000, seed=1
) -> np.ndarray:
    """Errors (n_trials, 2) of the mapped target: beads and target re-clicked, model refitted.

    The target's own light localisation error (``sigma_light``) is included:
    it is clicked in the same light volume as the beads.
    """
    p = np.asarray(light_true, dtype=np.float64)
    q = map_3dct(truth, p)
    t = np.asarray(target, dtype=np.float64)
    truth_2d = map_3dct(truth, t)[0]
    sl = np.broadcast_to(np.asarray(sigma_light, dtype=np.float64), (3,))
    rng = np.random.default_rng(seed)
    out = np.empty((n_trials, 2))
    for i in range(n_trials):
        m = fit_3dct(
            p + rng.standard_normal(p.shape) * sl, q + rng.standard_normal(q.shape) * sigma_image
        )
        out[i] = map_3dct(m, t + rng.standard_normal(3) * sl)[0] - truth_2d
    return out


def targeting_covariance(light, image, target, *, sigma_light, sigma_image, step=1.0):
    """Linearised 2x2 covariance (nm^2) of the mapped target in the image.

    ``J C J^T``: ``J`` holds the derivatives of the mapped target with respect
    to every bead coordinate (central differences of refits, ``step`` nm) and
    to the target's own light coordinates; ``C`` is diagonal with the click
    variances.
    """
    p = np.asarray(light, dtype=np.float64)
    q = np.asarray(image, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    sl = np.broadcast_to(np.asarray(sigma_light, dtype=np.float64), (3,))
    base = fit_3dct(p, q)
    cov = np.zeros((2, 2))
    for arr, sig in ((p, sl), (q, np.full(2, sigma_image))):
        for i in range(len(arr)):
            for a in range(arr.shape[1]):
                plus, minus = arr.copy(), arr.copy()
                plus[i, a] += step
                minus[i, a] -= step
                if arr is p:
                    mp, mm = fit_3dct(plus, q), fit_3dct(minus, q)
                else:
                    mp, mm = fit_3dct(p, plus), fit_3dct(p, minus)
                d = (map_3dct(mp, t)[0] - map_3dct(mm, t)[0]) / (2 * step)
                cov += sig[a] ** 2 * np.outer(d, d)
    lin = base["scale"] * _rows(base["rotvec"])  # d target_2d / d target_3d
    return cov + lin @ np.diag(sl**2) @ lin.T
