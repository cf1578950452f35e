"""Checks of the CTF sheet (subtomogram averaging: the contrast transfer function).

Every function check calls the learner's function on its own seeded data and
compares with :mod:`emcourse.sta.ctf`'s answer, without showing it; the
typical mistakes (defocus sign, micrometres for angstrom, Cs in mm left
unconverted, degrees as radians, cycles per pixel for 1/A, a phase flip
applied twice) are recognised and named. The prediction's result comes from
the image the sheet passes in; the question's options are listed in the sheet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "astigmatic_defocus",
    "ctf_curve",
    "defocus_gradient_prediction",
    "phase_flip_image",
    "thon_ring_radius",
    "unknown_pixel_choice",
]

# TS_01 of EMPIAR-10164: 300 kV, Cs 2.7 mm, amplitude contrast 0.1
_KV, _CS, _AC = 300.0, 2.7, 0.1


def _ref_ctf(k, dz, *, kv=_KV, cs=_CS, ac=_AC, sign=-1.0):
    from emcourse.sta.ctf import ctf_1d

    return sign * -ctf_1d(k, defocus=dz, voltage=kv, cs=cs, amplitude_contrast=ac)


def ctf_curve(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(freq, defocus, voltage, cs, amplitude_contrast) -> ctf``.

    ``freq`` in 1/A, ``defocus`` in A (positive = underfocus), ``voltage`` in kV,
    ``cs`` in mm, ``amplitude_contrast`` a fraction; CTFFIND's sign
    (``-sin(chi)``, negative at low frequency). Tested at TS_01's parameters and
    3.9 um; tolerance 1e-3 per value.

    Sample solution::

        def ctf(freq, defocus, voltage, cs, amplitude_contrast):
            v = voltage * 1e3
            lam = 12.2643247 / np.sqrt(v * (1 + 0.978466e-6 * v))
            w = np.arctan(amplitude_contrast / np.sqrt(1 - amplitude_contrast**2))
            k2 = np.asarray(freq) ** 2
            chi = np.pi * lam * defocus * k2 - np.pi / 2 * cs * 1e7 * lam**3 * k2**2 + w
            return -np.sin(chi)
    """
    k = np.linspace(0.0, 0.2, 401)
    dz = 39000.0
    expected = _ref_ctf(k, dz)
    words_um = (
        "your curve is the CTF at 10,000 times the defocus: the defocus arrives in "
        "angstrom (39000 for 3.9 um), do not convert it again."
    )
    return check_function(
        fn,
        k.copy(),
        dz,
        _KV,
        _CS,
        _AC,
        name="CTF curve",
        expected=expected,
        rtol=0,
        atol=1e-3,
        what="CTF",
        diagnoses=[
            (
                _ref_ctf(k, -dz),
                "your curve is the CTF at overfocus: the defocus is positive for underfocus "
                "(RELION and CTFFIND), so chi = +pi lambda dz k^2 ...",
            ),
            (_ref_ctf(k, dz * 1e4), words_um),
            (
                _ref_ctf(k, dz, cs=_CS * 1e-7),
                "Cs is in millimetres: multiply by 1e7 to have angstrom like the rest.",
            ),
            (
                _ref_ctf(k, dz, sign=1.0),
                "your curve has the opposite sign: that is RELION's convention, for "
                "contrast-inverted images; here use CTFFIND's -sin(chi).",
            ),
            (
                _ref_ctf(k, dz, ac=0.0),
                "the amplitude contrast is missing: add atan(A / sqrt(1 - A^2)) to chi.",
            ),
        ],
        hint=(
            "chi has a defocus term in k^2, a spherical-aberration term in k^4 and a "
            "constant from the amplitude contrast; the CTF is -sin(chi).",
            "put every length in angstrom: the wavelength (12.2643247 / sqrt(V (1 + "
            "0.978466e-6 V)), V in volts), the defocus (already A) and Cs (mm x 1e7).",
        ),
    )


def thon_ring_radius(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(defocus, pixel_size, n) -> radius``: the first zero, in pixels of a spectrum.

    The first zero of the CTF (TS_01's parameters) at ``defocus`` angstrom lies
    at ``k1`` 1/A; on the power spectrum of an ``n``-pixel tile of ``pixel_size``
    angstrom it is ``k1 * n * pixel_size`` pixels from the centre. Tested at
    3.9 um, 1.35 A, n = 512; tolerance 1 %.

    Sample solution::

        def first_zero_radius(defocus, pixel_size, n):
            k1 = sta.ctf.ctf_zeros(1, defocus=defocus)[0]
            return k1 * n * pixel_size
    """
    from emcourse.sta.ctf import ctf_zeros

    dz, px, n = 39000.0, 1.35, 512
    k1 = float(ctf_zeros(1, defocus=dz, voltage=_KV, cs=_CS, amplitude_contrast=_AC)[0])
    return check_function(
        fn,
        dz,
        px,
        n,
        name="first Thon ring radius",
        expected=k1 * n * px,
        rtol=0.01,
        units="pixels",
        diagnoses=[
            (
                k1 * n,
                "that is the radius at 1 A per pixel: a spectrum's pixels are cycles per "
                "pixel, so 1/A times the pixel size (A per pixel) times n.",
            ),
            (
                k1 * n / px,
                "you divided by the pixel size: k (1/A) x pixel size (A/pixel) gives cycles "
                "per pixel, then x n gives pixels.",
            ),
            (
                1.0 / k1,
                "that is the first zero's resolution in angstrom, not its radius in pixels.",
            ),
            (
                k1 * px,
                "that is the first zero in cycles per pixel; multiply by n for pixels of an "
                "n-pixel spectrum.",
            ),
        ],
        hint=(
            "find the first zero's frequency in 1/A first (sta.ctf.ctf_zeros, or chi = pi).",
            "the spectrum of an n-pixel tile samples frequencies in steps of "
            "1 / (n x pixel size) 1/A.",
        ),
    )


def _eff(phi, du, dv, ang, *, trig=np.deg2rad, factor=2.0):
    return 0.5 * (du + dv) + 0.5 * (du - dv) * np.cos(factor * (trig(phi) - trig(ang)))


def astigmatic_defocus(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(phi, defocus_u, defocus_v, angle) -> defocus``: defocus along an azimuth.

    Angles in degrees from the x axis (RELION's ``rlnDefocusAngle``);
    ``(U + V) / 2 + (U - V) / 2 cos(2 (phi - angle))``. Tolerance 0.5 A.

    Sample solution::

        def defocus_along(phi, defocus_u, defocus_v, angle):
            d = np.deg2rad(np.asarray(phi) - angle)
            return 0.5 * (defocus_u + defocus_v) + 0.5 * (defocus_u - defocus_v) * np.cos(2 * d)
    """
    phi = np.linspace(-90.0, 270.0, 73)
    du, dv, ang = 41000.0, 38000.0, 35.0
    expected = _eff(phi, du, dv, ang)
    return check_function(
        fn,
        phi.copy(),
        du,
        dv,
        ang,
        name="defocus along an azimuth",
        expected=expected,
        rtol=0,
        atol=0.5,
        units="A",
        diagnoses=[
            (
                _eff(phi, du, dv, ang, trig=lambda x: x),
                "np.cos takes radians: convert the angles (np.deg2rad) first.",
            ),
            (
                _eff(phi, du, dv, ang, factor=1.0),
                "the defocus repeats every 180 degrees (an ellipse), so the cosine is of "
                "2 (phi - angle).",
            ),
            (
                _eff(phi, dv, du, ang),
                "U and V are swapped: the angle is the direction of defocus U.",
            ),
        ],
        hint=(
            "along the angle the defocus is U, at right angles to it V, in between a "
            "smooth mixture that repeats every 180 degrees.",
            "mean (U + V) / 2, half-difference (U - V) / 2, times cos of twice the angle "
            "from the astigmatism's direction.",
        ),
    )


def phase_flip_image(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(image, ctf) -> image``: multiply the Fourier transform by sign(CTF).

    ``ctf`` on the full unshifted ``np.fft.fft2`` grid of the image; real output.
    Tolerance 1e-6 per pixel.

    Sample solution::

        def phase_flip(image, ctf):
            return np.fft.ifft2(np.fft.fft2(image) * np.sign(ctf)).real
    """
    from emcourse.sta.ctf import ctf_2d

    rng = np.random.default_rng(17)
    img = rng.normal(size=(49, 63))  # odd: no Nyquist lines, the sign mask is Hermitian
    c = ctf_2d(img.shape, 2.7, defocus_u=30000, defocus_v=28000, astig_angle=20.0)
    F = np.fft.fft2(img)

    def back(x):
        return np.fft.ifft2(x).real

    return check_function(
        fn,
        img.copy(),
        c.copy(),
        name="phase flip",
        expected=back(F * np.sign(c)),
        rtol=0,
        atol=1e-6,
        what="image",
        diagnoses=[
            (
                img,
                "your image comes back unchanged: a flip applied twice (sign^2 = 1) or not at all.",
            ),
            (back(F * c), "you multiplied by the CTF itself; a phase flip uses only its sign."),
            (
                back(F / np.where(np.abs(c) < 1e-3, 1e-3, c)),
                "you divided by the CTF: that blows up the noise at its zeros; a phase "
                "flip uses only the sign.",
            ),
            (-img, "every value has the wrong sign: you negated the image instead of flipping."),
        ],
        hint=(
            "work in Fourier space: transform, change the sign where the CTF is negative, "
            "transform back.",
            "np.fft.fft2, times np.sign(ctf), np.fft.ifft2, and keep the real part.",
        ),
    )


def defocus_gradient_prediction(guess: Any, gradient) -> CheckResult:
    """Predict, then run: the defocus difference (A) between two strips 1000 A apart.

    ``gradient`` is the :class:`emcourse.sta.ctf_fit.DefocusGradient` the sheet
    measured on its tilted image; the result is its slope times 1000 A.
    """
    name = "defocus change over 1000 A across the tilt axis"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    slope = float(gradient.slope)
    return prediction(
        name,
        guess,
        slope * 1000.0,
        rtol=0.2,
        units="A",
        explanation="a flat specimen tilted by theta rises by tan(theta) for every angstrom "
        "away from the tilt axis, so the defocus changes by 1000 tan(theta) A over 1000 A "
        f"(tan 60 deg = {np.tan(np.radians(60)):.2f}); the fit per strip of tiles measured a "
        f"slope of {slope:.2f}. Over a 4k-pixel tilt image at 1.35 A (5,500 A) that is "
        f"{abs(slope) * 5500:,.0f} A of defocus, a sizeable fraction of the 40,000 A: one "
        "defocus per tilt image is not enough at high tilt.",
        diagnoses=[
            (0.0, "the defocus does change across a tilted image: only along the axis it stays."),
            (
                1000 * np.sin(np.radians(60)),
                "that is 1000 sin(theta): the height above the focal plane is the distance "
                "from the axis times tan(theta) (the specimen plane is tilted, the beam is not).",
            ),
            (
                1000 * np.radians(60),
                "that treats the angle in radians as the slope; the slope is tan(theta).",
            ),
        ],
    )


_PIXEL_OPTIONS = {
    "a": "Its pixel size is unknown: the zeros fix only defocus / pixel^2 (and the voltage is "
    "unknown too), so the defocus cannot be given in micrometres.",
    "b": "The fit failed: zeros that land on the minima by chance say nothing.",
    "c": "Defocus cannot be measured from a single micrograph; it needs a tilt series.",
    "d": "The rings are elliptical, so no single defocus exists.",
}


def unknown_pixel_choice(answer: Any) -> CheckResult:
    """Interpretation: why the real micrograph's fit gives no defocus in micrometres."""
    return choice(
        "the real micrograph's defocus",
        answer,
        options=_PIXEL_OPTIONS,
        correct="a",
        explanation="in cycles per pixel the phase is pi lambda (dz / p^2) k^2 + ...: "
        "defocus dz and pixel size p appear only together, so the fit measures dz / p^2 "
        "(with lambda assumed). The zeros are checked (they land on the observed minima); "
        "their conversion to micrometres needs the pixel size and voltage, which this file "
        "does not record (its header says 1.0, a placeholder).",
        why_not={
            "b": "two fitted zeros each land within one frequency sample of an observed "
            "minimum that was found without any model: that is the check of a fit.",
            "c": "CTFFIND measures defocus from single micrographs every day; it needs the "
            "pixel size and the voltage, not tilts.",
            "d": "elliptical rings mean astigmatism: defocus U along one direction, V across "
            "it, both measurable (the fit gives them).",
        },
    )


unknown_pixel_choice.options = _PIXEL_OPTIONS
