"""Simulated micrographs with a known CTF: Thon rings, astigmatism, a tilted specimen.

The specimen is a weak phase object with a white spectrum (amorphous ice and
randomly placed matter look like this at the resolutions a CTF fit uses), the
image is ``dose * (1 + IFFT(FFT(object) * CTF * envelope))`` electrons per pixel
with Poisson (shot) noise. On a tilted specimen the defocus changes across the
image: a point at distance ``d`` from the tilt axis sits ``d tan(tilt)`` further
from (or nearer to) the focal plane. The image is built strip by strip parallel to
the axis, each strip with its own defocus.
"""

from __future__ import annotations

import numpy as np

from emcourse.sta.ctf import ctf_2d, phase_flip

__all__ = [
    "average_corrected",
    "axis_distance",
    "particle_image",
    "simulate_micrograph",
    "simulate_particles",
    "standin_micrograph",
]


def axis_distance(shape, pixel_size: float, tilt_axis_angle: float, points=None):
    """Signed distance (A) from the tilt axis through the image centre.

    The axis makes ``tilt_axis_angle`` degrees with the x (column) axis; the
    distance is ``(x - cx) sin(psi) - (y - cy) cos(psi)`` times the pixel size,
    positive to the right of the axis for an axis along y (``psi = 90``).

    Parameters
    ----------
    shape : (ny, nx)
    pixel_size : float
    tilt_axis_angle : float
        Degrees from the x axis (RELION's ``rlnTomoNominalTiltAxisAngle``: about 85 for TS_01).
    points : array (n, 2), optional
        ``(y, x)`` pixel positions; default every pixel (returns an image).

    Examples
    --------
    >>> np.round(axis_distance((4, 4), 2.0, 90.0)[0], 6).tolist()
    [-4.0, -2.0, 0.0, 2.0]
    """
    ny, nx = shape
    cy, cx = ny // 2, nx // 2
    psi = np.deg2rad(tilt_axis_angle)
    if points is None:
        y, x = np.mgrid[0:ny, 0:nx]
    else:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        y, x = p[:, 0], p[:, 1]
    return ((x - cx) * np.sin(psi) - (y - cy) * np.cos(psi)) * pixel_size


def simulate_micrograph(
    shape,
    pixel_size: float,
    *,
    defocus_u: float,
    defocus_v: float,
    astig_angle: float,
    tilt: float = 0.0,
    tilt_axis_angle: float = 90.0,
    dose: float = 3.0,
    contrast: float = 0.3,
    bfactor: float = 100.0,
    voltage: float = 300.0,
    cs: float = 2.7,
    amplitude_contrast: float = 0.1,
    n_strips: int = 16,
    seed=0,
) -> np.ndarray:
    """A simulated micrograph of a weak phase object with a known CTF.

    Parameters
    ----------
    shape : (ny, nx)
    pixel_size : float
        Angstrom per pixel.
    defocus_u, defocus_v, astig_angle
        The CTF at the tilt axis (angstrom, underfocus positive; degrees from x).
    tilt : float
        Specimen tilt, degrees: the defocus at distance ``d`` (A) from the axis
        (:func:`axis_distance`) is ``defocus + d tan(tilt)``.
    tilt_axis_angle : float
        Degrees from the x axis.
    dose : float
        Electrons per A^2 in this image (TS_01: about 3 per tilt).
    contrast : float
        Standard deviation of the object's phase (radians per pixel): the
        image's signal-to-noise ratio scales with ``contrast**2 * dose``.
    bfactor : float
        Envelope ``exp(-B k**2 / 4)``, A^2.
    voltage, cs, amplitude_contrast
        kV, mm, fraction.
    n_strips : int
        Strips parallel to the axis with their own defocus (tilted images only).
    seed : int or Generator

    Returns
    -------
    ndarray (ny, nx) float32
        Electron counts per pixel.

    Examples
    --------
    >>> img = simulate_micrograph((64, 64), 1.35, defocus_u=4e4, defocus_v=4e4,
    ...                           astig_angle=0, seed=1)
    >>> img.shape, img.dtype, round(float(img.mean()) / (3.0 * 1.35**2), 1)
    ((64, 64), dtype('float32'), 1.0)
    """
    rng = np.random.default_rng(seed)
    ny, nx = (int(s) for s in shape)
    obj = np.fft.rfft2(rng.normal(0.0, contrast, (ny, nx)))
    opt = dict(voltage=voltage, cs=cs, amplitude_contrast=amplitude_contrast, bfactor=bfactor)

    def image_at(dz_offset):
        c = ctf_2d(
            (ny, nx),
            pixel_size,
            defocus_u=defocus_u + dz_offset,
            defocus_v=defocus_v + dz_offset,
            astig_angle=astig_angle,
            rfft=True,
            **opt,
        )
        return np.fft.irfft2(obj * c, s=(ny, nx))

    if tilt == 0.0:
        wave = image_at(0.0)
    else:
        d = axis_distance((ny, nx), pixel_size, tilt_axis_angle)
        edges = np.linspace(d.min(), d.max() + 1e-6, int(n_strips) + 1)
        strip = np.clip(np.digitize(d, edges) - 1, 0, int(n_strips) - 1)
        wave = np.empty((ny, nx))
        slope = np.tan(np.deg2rad(tilt))
        for s in range(int(n_strips)):
            sel = strip == s
            if sel.any():
                wave[sel] = image_at(slope * 0.5 * (edges[s] + edges[s + 1]))[sel]
    expected = dose * pixel_size**2 * np.clip(1.0 + wave, 0.0, None)
    return rng.poisson(expected).astype(np.float32)


def particle_image(box: int, pixel_size: float, *, diameter: float = 200.0, seed=0):
    """A 2D projection of an atom-like particle: detail down to a few angstrom.

    ``box**2 / 8`` Gaussian "atoms" (standard deviation 1.5 A) scattered inside an
    irregular blob of about ``diameter`` angstrom, then projected: unlike a map
    of a few smooth blobs, its spectrum reaches the frequencies where a CTF at
    micrometres of defocus has many zeros.

    Returns
    -------
    ndarray (box, box) float64, mean 0 (background subtracted), peak 1.

    Examples
    --------
    >>> p = particle_image(64, 2.7, seed=0)
    >>> p.shape, round(float(p.max()), 3)
    ((64, 64), 1.0)
    """
    rng = np.random.default_rng(seed)
    n_atoms = box * box // 8
    r = 0.5 * diameter * np.sqrt(rng.uniform(0, 1, n_atoms))
    a = rng.uniform(0, 2 * np.pi, n_atoms)
    # an irregular outline: the radius varies with the angle
    r = r * (1 + 0.25 * np.cos(3 * a + 1.0) + 0.15 * np.sin(2 * a))
    py = r * np.sin(a) / pixel_size + box // 2
    px = r * np.cos(a) / pixel_size + box // 2
    # bilinear splat onto the grid, then a Gaussian atom by a Fourier filter
    y0, x0 = np.floor(py).astype(int), np.floor(px).astype(int)
    fy, fx = py - y0, px - x0
    grid = np.zeros((box, box))
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                      (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):  # fmt: skip
        np.add.at(grid, ((y0 + dy) % box, (x0 + dx) % box), w)
    ky = np.fft.fftfreq(box)[:, None]
    kx = np.fft.fftfreq(box)[None, :]
    sigma = 1.5 / pixel_size
    F = np.fft.fft2(grid) * np.exp(-2 * np.pi**2 * sigma**2 * (ky**2 + kx**2))
    F[0, 0] = 0.0
    img = np.fft.ifft2(F).real
    return img / img.max()


def simulate_particles(truth, pixel_size: float, defoci, *, snr: float, seed=0, **ctf_options):
    """Copies of ``truth``, each through its own CTF, plus white noise.

    Parameters
    ----------
    truth : ndarray (n, n)
    pixel_size : float
    defoci : array of float
        One (isotropic) defocus per particle, angstrom.
    snr : float
        Signal-to-noise ratio per image: variance of the CTF-filtered truth over
        the noise variance.
    ctf_options
        Passed to :func:`emcourse.sta.ctf.ctf_2d` (voltage, cs, amplitude_contrast, bfactor).

    Returns
    -------
    images : ndarray (m, n, n)
    ctfs : ndarray (m, n, n)
        Each image's CTF on the full unshifted grid.
    """
    rng = np.random.default_rng(seed)
    truth = np.asarray(truth, dtype=np.float64)
    F = np.fft.fft2(truth)
    ctfs = np.stack(
        [
            ctf_2d(
                truth.shape, pixel_size, defocus_u=d, defocus_v=d, astig_angle=0.0, **ctf_options
            )
            for d in np.asarray(defoci, dtype=np.float64)
        ]
    )
    clean = np.fft.ifft2(F[None] * ctfs).real
    sigma = np.sqrt(clean.var(axis=(1, 2)).mean() / float(snr))
    return clean + rng.normal(0.0, sigma, clean.shape), ctfs


def average_corrected(images, ctfs, *, method: str = "flip", snr: float = 1.0) -> np.ndarray:
    """Average images after a CTF correction.

    ``method``: ``"raw"`` (no correction), ``"flip"`` (phase flip each image,
    then average), ``"flip-twice"`` (the mistake: flip each image twice, which
    undoes the flip) or ``"wiener"`` (``sum CTF_i F_i / (sum CTF_i**2 + 1/snr)``,
    the Wiener-like combination with the per-image ``snr``).

    Examples
    --------
    >>> c = np.stack([np.full((4, 4), -1.0), np.full((4, 4), 1.0)])
    >>> imgs = np.stack([-np.ones((4, 4)), np.ones((4, 4))])
    >>> float(average_corrected(imgs, c, method="raw").mean()), float(
    ...     average_corrected(imgs, c, method="flip").mean())
    (0.0, 1.0)
    """
    images = np.asarray(images, dtype=np.float64)
    ctfs = np.asarray(ctfs, dtype=np.float64)
    if method == "raw":
        return images.mean(axis=0)
    if method in ("flip", "flip-twice"):
        out = np.stack([phase_flip(im, c) for im, c in zip(images, ctfs, strict=True)])
        if method == "flip-twice":
            out = np.stack([phase_flip(im, c) for im, c in zip(out, ctfs, strict=True)])
        return out.mean(axis=0)
    if method == "wiener":
        num = (np.fft.fft2(images) * ctfs).sum(axis=0)
        den = (ctfs * ctfs).sum(axis=0) + 1.0 / float(snr)
        return np.fft.ifft2(num / den).real
    raise ValueError(f"unknown method {method!r}; use 'raw', 'flip', 'flip-twice' or 'wiener'.")


def standin_micrograph(
    shape, *, pixel_size: float = 4.0, defocus=(7800.0, 7400.0, 40.0), mean=0.0, std=1.0, seed=0
) -> np.ndarray:
    """The stand-in for a real micrograph: Thon rings and a dark contamination patch.

    A :func:`simulate_micrograph` at ``pixel_size`` with ``defocus = (U, V,
    angle)``, 20 e/A^2 and a phase contrast of 0.1 rad, with a soft dark disc
    near the top right (as on the real micrograph the course uses), rescaled to
    ``mean`` and ``std``.

    Returns
    -------
    ndarray ``shape`` float32

    Examples
    --------
    >>> m = standin_micrograph((96, 128), mean=6800.0, std=9.0)
    >>> m.shape, m.dtype, round(float(m.mean())), round(float(m.std()))
    ((96, 128), dtype('float32'), 6800, 9)
    """
    du, dv, ang = (float(v) for v in defocus)
    img = simulate_micrograph(
        shape,
        pixel_size,
        defocus_u=du,
        defocus_v=dv,
        astig_angle=ang,
        dose=20.0,
        contrast=0.1,
        seed=seed,
    ).astype(np.float64)
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx]
    r = np.hypot(y - 0.18 * ny, x - 0.78 * nx) / (0.14 * min(ny, nx))
    img *= 1.0 - 0.5 / (1.0 + np.exp((r - 1.0) * 12.0))
    img = (img - img.mean()) / img.std()
    return (img * std + mean).astype(np.float32)
