"""Tests for emcourse.sta.ctf: the CTF model against closed forms and RELION's formula."""

import numpy as np
import pytest

from emcourse.sta import ctf
from emcourse.sta.tomography import _ctf_of_k

# TS_01 of EMPIAR-10164 (RELION 5 tutorial tomograms table): 300 kV, Cs 2.7 mm, A 0.1
TS01 = dict(voltage=300.0, cs=2.7, amplitude_contrast=0.1)


def test_wavelength_300_and_200_kv():
    # h / sqrt(2 m0 e V (1 + eV / 2 m0 c^2)) from CODATA constants, independently
    h, m0, e, c = 6.62607015e-34, 9.1093837015e-31, 1.602176634e-19, 299792458.0
    for kv in (100.0, 200.0, 300.0):
        v = kv * 1e3
        lam = h / np.sqrt(2 * m0 * e * v * (1 + e * v / (2 * m0 * c * c))) * 1e10
        assert ctf.wavelength(kv) == pytest.approx(lam, rel=1e-5)
    assert ctf.wavelength(300.0) == pytest.approx(0.01969, abs=5e-6)


def test_first_zero_at_39_um_is_28_angstrom_closed_form():
    """chi = pi: the quadratic's root, Cs included; without Cs, k^2 = (1 - w/pi) / (lambda dz)."""
    lam = ctf.wavelength(300.0)
    w = np.arctan(0.1 / np.sqrt(1 - 0.01))
    dz, cs = 39000.0, 2.7e7
    a, b = 0.5 * np.pi * cs * lam**3, np.pi * lam * dz
    s = (b - np.sqrt(b * b - 4 * a * (np.pi - w))) / (2 * a)
    k1 = ctf.ctf_zeros(1, defocus=dz, **TS01)[0]
    assert k1 == pytest.approx(np.sqrt(s), rel=1e-12)
    assert 1 / k1 == pytest.approx(28.16, abs=0.01)  # the notes' "near 1/(28 A)"
    # Cs shifts it by well under 1 %: the defocus term dominates at 28 A
    k_nocs = np.sqrt((1 - w / np.pi) / (lam * dz))
    assert abs(k1 / k_nocs - 1) < 0.002
    # the CTF changes sign there
    c = ctf.ctf_1d([k1 * 0.99, k1, k1 * 1.01], defocus=dz, **TS01)
    assert c[0] < 0 < c[2] and abs(c[1]) < 1e-9


def test_zeros_are_zeros_and_alternate():
    z = ctf.ctf_zeros(8, defocus=20000.0, **TS01)
    assert len(z) == 8 and np.all(np.diff(z) > 0)
    np.testing.assert_allclose(ctf.ctf_1d(z, defocus=20000.0, **TS01), 0, atol=1e-9)
    mid = ctf.ctf_1d(0.5 * (z[:-1] + z[1:]), defocus=20000.0, **TS01)
    assert np.all(np.sign(mid[:-1]) != np.sign(mid[1:]))
    # a phase shift of 90 deg moves the first zero towards the origin
    zp = ctf.ctf_zeros(1, defocus=20000.0, phase_shift=90.0, **TS01)
    assert zp[0] < z[0]


def test_matches_the_course_isotropic_ctf():
    k = np.linspace(0, 0.25, 200)
    ours = ctf.ctf_1d(k, defocus=30000.0, voltage=300.0, cs=2.7, amplitude_contrast=0.07)
    old = _ctf_of_k(k, defocus_um=3.0, voltage_kv=300.0, cs_mm=2.7, amplitude_contrast=0.07)
    np.testing.assert_allclose(ours, old, atol=1e-9)


def _relion_get_ctf(x, y, *, du, dv, angle, kv, cs_mm, q0, phase_deg=0.0):
    """RELION's CTF::initialise + getCTF (src/ctf.h), transcribed for the test."""
    local_cs, local_kv = cs_mm * 1e7, kv * 1e3
    rad_az = np.deg2rad(angle)
    dav, ddev = -(du + dv) * 0.5, -(du - dv) * 0.5
    lam = 12.2643247 / np.sqrt(local_kv * (1.0 + local_kv * 0.978466e-6))
    k1, k2 = np.pi / 2 * 2 * lam, np.pi / 2 * local_cs * lam**3
    k3, k5 = np.arctan(q0 / np.sqrt(1 - q0 * q0)), np.deg2rad(phase_deg)
    u2 = x * x + y * y
    deltaf = dav + ddev * np.cos(2 * (np.arctan2(y, x) - rad_az))
    gamma = k1 * deltaf * u2 + k2 * u2 * u2 - k5 - k3
    return -np.sin(gamma)


@pytest.mark.parametrize("angle", [0.0, 30.0, -62.5, 100.0])
def test_astigmatism_convention_agrees_with_relion_up_to_its_sign(angle):
    shape, px = (48, 64), 1.35
    p = dict(defocus_u=41000.0, defocus_v=38500.0, astig_angle=angle, phase_shift=20.0)
    ours = ctf.ctf_2d(shape, px, **p, **TS01)
    ky = np.fft.fftfreq(shape[0], px)[:, None]
    kx = np.fft.fftfreq(shape[1], px)[None, :]
    rel = _relion_get_ctf(
        kx, ky, du=41000.0, dv=38500.0, angle=angle, kv=300.0, cs_mm=2.7, q0=0.1, phase_deg=20.0
    )
    np.testing.assert_allclose(ours, -rel, atol=1e-9)  # RELION: contrast-inverted sign


def test_defocus_u_lies_along_the_angle():
    """Larger defocus -> the first zero nearer the origin, along astig_angle (x = columns)."""
    n, px = 256, 2.0
    for angle, axis in ((0.0, "x"), (90.0, "y")):
        c = ctf.ctf_2d((n, n), px, defocus_u=30000, defocus_v=15000, astig_angle=angle, **TS01)
        along_x, along_y = c[0, : n // 2], c[: n // 2, 0]
        first = {
            k: int(np.argmax(np.diff(np.sign(v)) != 0)) for k, v in (("x", along_x), ("y", along_y))
        }
        other = "y" if axis == "x" else "x"
        assert first[axis] < first[other]
    # and the 2D CTF equals the 1D one at the azimuth's effective defocus
    c = ctf.ctf_2d((n, n), px, defocus_u=30000, defocus_v=15000, astig_angle=35.0, **TS01)
    iy, ix = 17, 40
    ky, kx = np.fft.fftfreq(n, px)[iy], np.fft.fftfreq(n, px)[ix]
    dz = ctf.defocus_at_azimuth(
        np.degrees(np.arctan2(ky, kx)), defocus_u=30000, defocus_v=15000, astig_angle=35.0
    )
    assert c[iy, ix] == pytest.approx(ctf.ctf_1d(np.hypot(kx, ky), defocus=dz, **TS01)[()])


def test_rfft_half_plane_and_bfactor():
    full = ctf.ctf_2d((32, 40), 3.0, defocus_u=20000, defocus_v=18000, astig_angle=10, **TS01)
    half = ctf.ctf_2d(
        (32, 40), 3.0, defocus_u=20000, defocus_v=18000, astig_angle=10, rfft=True, **TS01
    )
    np.testing.assert_allclose(half[:, :20], full[:, :20])  # column 20: +Nyquist vs -Nyquist
    assert half.shape == (32, 21)
    damped = ctf.ctf_2d(
        (32, 40), 3.0, defocus_u=20000, defocus_v=18000, astig_angle=10, bfactor=200, **TS01
    )
    assert np.all(np.abs(damped) <= np.abs(full) + 1e-12)
    assert damped[0, 0] == pytest.approx(full[0, 0])


def test_refuses_bad_parameters():
    with pytest.raises(ValueError, match="amplitude_contrast"):
        ctf.ctf_1d([0.1], defocus=1e4, amplitude_contrast=10.0)  # percent, not fraction
    with pytest.raises(ValueError, match="pixel_size"):
        ctf.ctf_2d((8, 8), 0.0, defocus_u=1e4, defocus_v=1e4, astig_angle=0)
    with pytest.raises(ValueError, match="underfocus"):
        ctf.ctf_zeros(2, defocus=-1e4)
    with pytest.raises(ValueError, match="voltage"):
        ctf.wavelength(0)
