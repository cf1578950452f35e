"""Radiation damage and exposure filtering: the critical exposure, the filter, a damage model.

Grant & Grigorieff (2015, eLife 4:e06980) measured how fast the electron
beam destroys the signal of a frozen-hydrated specimen at each spatial
frequency. They fitted the **critical exposure** (the exposure after which a
Fourier component's power has fallen to 1/e) as

    N_e(k) = a k^b + c,   a = 0.245, b = -1.665, c = 2.81 e/A^2   (k in 1/A, 300 kV)

and the amplitude of a component after an exposure N as
``exp(-N / (2 N_e(k)))``. An image taken after a pre-exposure N is
**exposure filtered** by multiplying its Fourier transform by that factor:
what the beam has destroyed is weighted down, and a sum of filtered images
takes each frequency mostly from the images that still hold it. The programs
that apply the filter (unblur/summovie, cisTEM's ``electron_dose.cpp``,
Xmipp) carry the constants with more digits (0.24499, -1.6649, 2.8141) and
multiply N_e by 0.8 at 200 kV; the paper measured at 300 kV.

To show what the filter gains without assuming that the specimen decays
exactly as the filter says (which would make the gain circular), the
simulation here damages images with a different model: a temperature factor
(B-factor) that grows linearly with the exposure, ``exp(-B N k^2 / 4)``
(:func:`bfactor_damage`).

Spatial frequencies are in 1/A, pixel sizes in A, exposures in e/A^2.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "GRANT_GRIGORIEFF",
    "bfactor_damage",
    "critical_exposure",
    "exposure_filter",
    "frequency_magnitude",
    "simulate_dose_series",
    "weighted_sum",
]

#: (a, b, c) of N_e(k) = a k^b + c at 300 kV, as printed by Grant & Grigorieff (2015).
GRANT_GRIGORIEFF = (0.245, -1.665, 2.81)
_VOLTAGE_SCALE = {300.0: 1.0, 200.0: 0.8}  # cisTEM / unblur: N_e scaled by 0.8 at 200 kV


def critical_exposure(k, *, voltage: float = 300.0, constants=GRANT_GRIGORIEFF) -> np.ndarray:
    """The critical exposure N_e(k) in e/A^2 at spatial frequency ``k`` (1/A).

    ``a k^b + c`` (Grant & Grigorieff 2015), multiplied by 0.8 at 200 kV as
    cisTEM and unblur do. At ``k = 0`` it is infinite: the mean survives.

    Raises
    ------
    ValueError
        For a voltage other than 200 or 300 kV (the fit was not scaled to others here).

    Examples
    --------
    >>> np.round(critical_exposure([0.1, 0.2]), 2).tolist()
    [14.14, 6.38]
    >>> round(float(critical_exposure(0.1, voltage=200.0)), 2)
    11.31
    """
    scale = _VOLTAGE_SCALE.get(float(voltage))
    if scale is None:
        raise ValueError(
            f"critical_exposure: voltage {voltage} kV is not supported; the fit is for 300 kV "
            "and its usual scaling for 200 kV (give 300 or 200)."
        )
    a, b, c = constants
    k = np.abs(np.asarray(k, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return scale * (a * np.where(k > 0, k, np.inf) ** b + c) * np.where(k > 0, 1.0, np.inf)


def frequency_magnitude(shape, pixel_size: float, *, rfft: bool = False) -> np.ndarray:
    """|k| in 1/A on the FFT grid of an image of ``shape`` with ``pixel_size`` A pixels.

    Examples
    --------
    >>> k = frequency_magnitude((4, 4), 2.0)
    >>> float(k[0, 2]), float(k.max()) == float(np.hypot(0.25, 0.25))
    (0.25, True)
    """
    ny, nx = shape
    ky = np.fft.fftfreq(ny, d=pixel_size)[:, None]
    kx = (np.fft.rfftfreq if rfft else np.fft.fftfreq)(nx, d=pixel_size)[None, :]
    return np.sqrt(ky**2 + kx**2)


def exposure_filter(
    pre_exposure, shape, pixel_size: float, *, voltage: float = 300.0, rfft: bool = False
) -> np.ndarray:
    """The exposure filter of each image: ``exp(-N / (2 N_e(k)))``, shape ``(n, ny, nx)``.

    Parameters
    ----------
    pre_exposure : array (n,)
        The exposure each image had received (e/A^2), e.g. RELION's
        ``rlnMicrographPreExposure``: the accumulated dose, not the dose of
        one image.
    shape : (ny, nx)
        Image shape.
    pixel_size : float
        Angstrom per pixel of the images being filtered (after any binning).
    voltage : float
        200 or 300 kV.
    rfft : bool
        The half grid of :func:`numpy.fft.rfft2` instead of the full one.

    Examples
    --------
    >>> w = exposure_filter([0.0, 30.0], (8, 8), 2.7)
    >>> float(w[0].min()), float(w[1, 0, 0]), bool(w[1, 0, 4] < w[1, 0, 1])
    (1.0, 1.0, True)
    """
    n = np.asarray(pre_exposure, dtype=np.float64).reshape(-1, 1, 1)
    ne = critical_exposure(frequency_magnitude(shape, pixel_size, rfft=rfft), voltage=voltage)
    return np.exp(-n / (2.0 * ne[None]))


def bfactor_damage(pre_exposure, shape, pixel_size: float, *, b_per_dose: float) -> np.ndarray:
    """A damage model of its own: ``exp(-B N k^2 / 4)`` with ``B = b_per_dose`` A^2 per e/A^2.

    A Gaussian in Fourier space, as a temperature factor is: the same as
    :func:`scipy.ndimage.fourier_gaussian` with ``sigma = sqrt(B N / (8 pi^2)) / pixel_size``
    pixels. Not the Grant & Grigorieff curve: it falls as ``k^2`` where theirs
    falls as ``k^1.665`` plus a floor.

    Examples
    --------
    >>> d = bfactor_damage([0.0, 10.0], (8, 8), 2.0, b_per_dose=4.0)
    >>> float(d[0].min()), round(float(d[1, 0, 4]), 4)  # k = 1/4 A: exp(-40 / 64)
    (1.0, 0.5353)
    """
    n = np.asarray(pre_exposure, dtype=np.float64).reshape(-1, 1, 1)
    k2 = frequency_magnitude(shape, pixel_size) ** 2
    return np.exp(-float(b_per_dose) * n * k2[None] / 4.0)


def simulate_dose_series(
    truth, pre_exposure, *, pixel_size: float, b_per_dose: float, snr: float, seed=0
) -> tuple[np.ndarray, np.ndarray]:
    """Images of ``truth`` after each pre-exposure: B-factor damage, then white noise.

    Each image gets the same noise (every tilt of a dose-symmetric series has
    the same dose, hence the same shot noise); ``snr`` is the variance of the
    undamaged ``truth`` over the noise variance. Returns the images ``(n, ny,
    nx)`` and the damage applied (:func:`bfactor_damage`), the truth against
    which a weighting can be compared.

    Examples
    --------
    >>> imgs, damage = simulate_dose_series(np.ones((8, 8)), [0.0, 3.0], pixel_size=2.0,
    ...                                     b_per_dose=4.0, snr=np.inf)
    >>> imgs.shape, bool(np.allclose(imgs, 1.0))
    ((2, 8, 8), True)
    """
    truth = np.asarray(truth, dtype=np.float64)
    damage = bfactor_damage(pre_exposure, truth.shape, pixel_size, b_per_dose=b_per_dose)
    images = np.fft.ifft2(np.fft.fft2(truth)[None] * damage).real
    if np.isfinite(snr):
        rng = np.random.default_rng(seed)
        sigma = np.sqrt(truth.var() / float(snr))
        images = images + rng.normal(0.0, sigma, images.shape)
    return images, damage


def weighted_sum(images, weights=None, *, eps: float = 1e-6) -> np.ndarray:
    """``sum_i w_i(k) X_i(k) / sum_i w_i(k)^2``: images combined frequency by frequency.

    With weights proportional to each image's remaining signal this is the
    sum that maximises the signal-to-noise ratio at every frequency (images of
    equal noise); ``weights=None`` gives the plain mean. ``eps`` keeps the
    division finite where every weight is near 0.

    Examples
    --------
    >>> x = np.stack([np.ones((4, 4)), 3 * np.ones((4, 4))])
    >>> float(weighted_sum(x)[0, 0])
    2.0
    >>> w = np.stack([np.ones((4, 4)), np.zeros((4, 4))])
    >>> round(float(weighted_sum(x, w)[0, 0]), 4)
    1.0
    """
    images = np.asarray(images, dtype=np.float64)
    if weights is None:
        return images.mean(axis=0)
    w = np.asarray(weights, dtype=np.float64)
    F = (np.fft.fft2(images) * w).sum(axis=0) / ((w**2).sum(axis=0) + eps)
    return np.fft.ifft2(F).real
