"""The contrast transfer function (CTF) of a transmission electron microscope.

The model and its conventions are CTFFIND's and cisTEM's (Rohou and
Grigorieff 2015), which RELION's ``rlnDefocusU``, ``rlnDefocusV`` and
``rlnDefocusAngle`` share:

* the phase aberration, in radians, is
  ``chi(k, phi) = pi lambda dz(phi) k**2 - pi/2 Cs lambda**3 k**4 + w + phase_shift``
  with ``w = atan(A / sqrt(1 - A**2))`` for the amplitude contrast ``A``;
* ``dz(phi) = (dU + dV)/2 + (dU - dV)/2 cos(2 (phi - astig_angle))``, with
  ``phi = atan2(k_y, k_x)`` the azimuth of the frequency measured from the x axis
  (the image's column axis) towards the y axis (the row axis), so ``dU`` is the
  defocus along ``astig_angle`` and ``dV`` the one perpendicular to it;
* defocus is positive for underfocus (the way micrographs are recorded);
* the CTF is ``-sin(chi)``: negative at low frequency, so that dense matter
  looks dark in a raw micrograph.

Checked against (read, not copied):

* cisTEM / CTFFIND ``src/core/ctf.cpp`` (repository ``timothygrant80/cisTEM``):
  ``PhaseShiftGivenSquaredSpatialFrequencyAndAzimuth`` (the ``chi`` above with
  ``precomputed_amplitude_contrast_term = atan(A / sqrt(1 - A**2))``),
  ``DefocusGivenAzimuth`` (the ``dz(phi)`` above) and ``Evaluate``
  (``-sin(chi)``);
* RELION ``src/ctf.h`` / ``src/ctf.cpp`` (``CTF::initialise``, ``getCTF``):
  ``defocus_average = -(DeltafU + DeltafV) / 2``,
  ``defocus_deviation = -(DeltafU - DeltafV) / 2``, the same
  ``cos(2 (atan2(Y, X) - rad_azimuth))`` astigmatism and the same wavelength
  formula; its ``gamma`` is ``-chi``, and it returns ``-sin(gamma) = +sin(chi)``:
  **the opposite overall sign**, because RELION works on contrast-inverted
  particles (dense matter white). The zeros, the Thon rings (``CTF**2``) and phase
  flipping by ``sign(CTF)`` applied to images of the same contrast are the same.

RELION's ``rlnPhaseShift`` is in degrees, CTFFIND's output in radians; this
module takes degrees.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ctf_1d",
    "ctf_2d",
    "ctf_zeros",
    "defocus_at_azimuth",
    "phase_flip",
    "wavelength",
    "wiener_filter",
]


def wavelength(voltage_kv: float) -> float:
    """Relativistic electron wavelength in angstrom.

    ``lambda = h / sqrt(2 m e V (1 + e V / (2 m c**2)))``, written as RELION and
    cisTEM write it: ``12.2643247 / sqrt(V (1 + 0.978466e-6 V))`` with V in volts.

    Parameters
    ----------
    voltage_kv : float
        Accelerating voltage in kilovolts.

    Returns
    -------
    float
        Wavelength in angstrom.

    Examples
    --------
    >>> round(wavelength(300.0), 5)
    0.01969
    >>> round(wavelength(200.0), 5)
    0.02508
    """
    v = float(voltage_kv) * 1e3
    if not v > 0:
        raise ValueError(f"voltage_kv must be positive; got {voltage_kv!r}.")
    return float(12.2643247 / np.sqrt(v * (1.0 + 0.978466e-6 * v)))


def _amplitude_phase(amplitude_contrast: float) -> float:
    a = float(amplitude_contrast)
    if not 0.0 <= a < 1.0:
        raise ValueError(
            f"amplitude_contrast is a fraction in [0, 1); got {amplitude_contrast!r} "
            "(0.07-0.1 for ice)."
        )
    return float(np.arctan(a / np.sqrt(1.0 - a * a)))


def _chi(k2, dz, *, voltage, cs, amplitude_contrast, phase_shift):
    """Phase aberration (radians) at squared frequency ``k2`` (1/A^2), defocus ``dz`` (A)."""
    lam = wavelength(voltage)
    cs_a = float(cs) * 1e7  # mm -> angstrom
    return (
        np.pi * lam * k2 * (dz - 0.5 * lam * lam * k2 * cs_a)
        + _amplitude_phase(amplitude_contrast)
        + np.deg2rad(phase_shift)
    )


def defocus_at_azimuth(phi_deg, *, defocus_u: float, defocus_v: float, astig_angle: float):
    """Effective defocus (A) along azimuth ``phi_deg`` (degrees from the x axis).

    Examples
    --------
    >>> float(defocus_at_azimuth(30.0, defocus_u=41000, defocus_v=39000, astig_angle=30.0))
    41000.0
    >>> float(defocus_at_azimuth(120.0, defocus_u=41000, defocus_v=39000, astig_angle=30.0))
    39000.0
    """
    phi = np.deg2rad(np.asarray(phi_deg, dtype=np.float64))
    ang = np.deg2rad(astig_angle)
    return 0.5 * (defocus_u + defocus_v) + 0.5 * (defocus_u - defocus_v) * np.cos(2.0 * (phi - ang))


def ctf_1d(
    freq,
    *,
    defocus: float,
    voltage: float = 300.0,
    cs: float = 2.7,
    amplitude_contrast: float = 0.1,
    phase_shift: float = 0.0,
    bfactor: float = 0.0,
) -> np.ndarray:
    """The CTF along a line of spatial frequencies, for one (effective) defocus.

    Parameters
    ----------
    freq : array_like
        Spatial frequencies in 1/angstrom (not cycles per pixel: divide those by
        the pixel size).
    defocus : float or array_like
        Defocus in angstrom, positive = underfocus (3.9 um is ``39000``); an
        array broadcast against ``freq`` gives each frequency its own defocus.
    voltage : float
        Accelerating voltage, kV.
    cs : float
        Spherical aberration, mm.
    amplitude_contrast : float
        Fraction of amplitude contrast (0.1 for RELION's EMPIAR-10164 tutorial).
    phase_shift : float
        Additional phase shift (phase plate), degrees.
    bfactor : float
        Optional envelope ``exp(-B k**2 / 4)``, A^2 (0: none).

    Returns
    -------
    ndarray
        ``-sin(chi)``, float64, the shape of ``freq``.

    Examples
    --------
    >>> c = ctf_1d([0.0, 1 / 28.16], defocus=39000)
    >>> round(float(c[0]), 3), abs(float(c[1])) < 0.01
    (-0.1, True)
    """
    k = np.asarray(freq, dtype=np.float64)
    k2 = k * k
    out = -np.sin(
        _chi(
            k2,
            np.asarray(defocus, dtype=np.float64),
            voltage=voltage,
            cs=cs,
            amplitude_contrast=amplitude_contrast,
            phase_shift=phase_shift,
        )
    )
    if bfactor:
        out *= np.exp(-float(bfactor) * k2 / 4.0)
    return out


def ctf_2d(
    shape,
    pixel_size: float,
    *,
    defocus_u: float,
    defocus_v: float,
    astig_angle: float,
    voltage: float = 300.0,
    cs: float = 2.7,
    amplitude_contrast: float = 0.1,
    phase_shift: float = 0.0,
    bfactor: float = 0.0,
    rfft: bool = False,
) -> np.ndarray:
    """The CTF on the 2D Fourier grid of images of ``shape`` (rows, columns).

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the image.
    pixel_size : float
        Angstrom per pixel.
    defocus_u, defocus_v : float
        Defocus along ``astig_angle`` and perpendicular to it, angstrom, positive =
        underfocus (RELION's ``rlnDefocusU``/``rlnDefocusV``, CTFFIND's defocus 1/2).
    astig_angle : float
        Azimuth of ``defocus_u`` in **degrees**, from the x (column) axis towards
        the y (row) axis (RELION's ``rlnDefocusAngle``, CTFFIND's azimuth).
    voltage, cs, amplitude_contrast, phase_shift, bfactor
        As in :func:`ctf_1d` (kV, mm, fraction, degrees, A^2).
    rfft : bool
        Return the :func:`numpy.fft.rfft2` half plane instead of the full grid.

    Returns
    -------
    ndarray
        float64 ``(ny, nx)`` (or ``(ny, nx // 2 + 1)``), zero frequency at ``[0, 0]``
        (the unshifted :func:`numpy.fft.fftfreq` layout; ``np.fft.fftshift`` to display).
        Multiply ``np.fft.fft2(image)`` by it to apply the CTF.

    Examples
    --------
    >>> c = ctf_2d((64, 64), 2.0, defocus_u=20000, defocus_v=20000, astig_angle=0)
    >>> c.shape, round(float(c[0, 0]), 3)
    ((64, 64), -0.1)
    >>> bool(np.allclose(c, c.T))  # no astigmatism: symmetric
    True
    """
    ny, nx = (int(s) for s in shape)
    if pixel_size <= 0:
        raise ValueError(f"pixel_size must be positive (angstrom); got {pixel_size!r}.")
    ky = np.fft.fftfreq(ny, d=pixel_size)[:, None]
    kx = (np.fft.rfftfreq if rfft else np.fft.fftfreq)(nx, d=pixel_size)[None, :]
    k2 = ky * ky + kx * kx
    phi = np.arctan2(ky, kx)
    dz = 0.5 * (defocus_u + defocus_v) + 0.5 * (defocus_u - defocus_v) * np.cos(
        2.0 * (phi - np.deg2rad(astig_angle))
    )
    out = -np.sin(
        _chi(
            k2,
            dz,
            voltage=voltage,
            cs=cs,
            amplitude_contrast=amplitude_contrast,
            phase_shift=phase_shift,
        )
    )
    if bfactor:
        out *= np.exp(-float(bfactor) * k2 / 4.0)
    return out


def ctf_zeros(
    n: int,
    *,
    defocus: float,
    voltage: float = 300.0,
    cs: float = 2.7,
    amplitude_contrast: float = 0.1,
    phase_shift: float = 0.0,
) -> np.ndarray:
    """Spatial frequencies (1/A) of the first ``n`` zeros of the CTF at one defocus.

    A zero is where ``chi = m pi``; ``chi`` is a quadratic in ``s = k**2``,
    ``-a s**2 + b s + c`` with ``a = pi/2 Cs lambda**3``, ``b = pi lambda dz`` and
    ``c = w + phase_shift``, so ``s_m = (b - sqrt(b**2 - 4 a (m pi - c))) / (2 a)``
    (the root below the extremum of ``chi``, which at micrometres of underfocus
    lies far beyond any pixel's Nyquist). Zeros beyond that extremum are not
    returned: the result may be shorter than ``n``.

    Examples
    --------
    >>> z = ctf_zeros(3, defocus=39000)
    >>> [round(float(1 / f), 1) for f in z]
    [28.2, 19.7, 16.1]
    """
    lam = wavelength(voltage)
    a = 0.5 * np.pi * float(cs) * 1e7 * lam**3
    b = np.pi * lam * float(defocus)
    c = _amplitude_phase(amplitude_contrast) + np.deg2rad(phase_shift)
    if b <= 0:
        raise ValueError(f"ctf_zeros needs underfocus (defocus > 0, angstrom); got {defocus!r}.")
    m0 = int(np.floor(c / np.pi)) + 1
    m = np.arange(m0, m0 + int(n), dtype=np.float64)
    rhs = m * np.pi - c
    if a == 0:
        s = rhs / b
    else:
        disc = b * b - 4.0 * a * rhs
        disc = disc[disc >= 0]
        s = (b - np.sqrt(disc)) / (2.0 * a)
    return np.sqrt(s)


def _apply(image, factor):
    img = np.asarray(image, dtype=np.float64)
    f = np.asarray(factor)
    if img.ndim < 2 or f.shape != img.shape[-2:]:
        raise ValueError(
            f"the CTF {f.shape} must be on the full np.fft.fft2 grid of the image "
            f"{img.shape[-2:]} (ctf_2d(image.shape, ...) with rfft=False)."
        )
    return np.fft.ifft2(np.fft.fft2(img) * f).real


def phase_flip(image, ctf) -> np.ndarray:
    """Multiply the image's Fourier transform by ``sign(CTF)``.

    Undoes the CTF's sign reversals (the phase of every Fourier component
    becomes right again) but not its amplitude: components near the zeros stay
    weak. Applying it twice gives back the image: ``sign(CTF)**2 = 1``.

    Parameters
    ----------
    image : ndarray (..., ny, nx)
        One image or a stack.
    ctf : ndarray (ny, nx)
        The CTF on the unshifted full grid (:func:`ctf_2d`).

    Returns
    -------
    ndarray, float64, the image's shape.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(size=(32, 32))
    >>> c = ctf_2d((32, 32), 3.0, defocus_u=2e4, defocus_v=2e4, astig_angle=0)
    >>> bool(np.allclose(phase_flip(phase_flip(img, c), c), img))
    True
    """
    return _apply(image, np.where(np.asarray(ctf) < 0, -1.0, 1.0))


def wiener_filter(image, ctf, *, snr: float) -> np.ndarray:
    """Wiener-like correction ``CTF / (CTF**2 + 1/snr)`` of one image (or a stack).

    Restores amplitude as well as sign where the signal-to-noise ratio allows,
    and does not divide by the zeros. For an average of images with different
    CTFs, sum ``CTF_i * F_i`` and divide by ``sum CTF_i**2 + 1/snr`` instead
    (:func:`emcourse.sta.ctf_sim.average_corrected`).

    Examples
    --------
    >>> c = np.full((8, 8), -0.5)
    >>> round(float(wiener_filter(np.ones((8, 8)), c, snr=1e6)[0, 0]), 4)  # divides by -0.5
    -2.0
    """
    c = np.asarray(ctf, dtype=np.float64)
    return _apply(image, c / (c * c + 1.0 / float(snr)))
