"""Checks of the CTF sheet: right answers pass, each typical mistake is named, answers hidden."""

import numpy as np
import pytest

from emcourse import checks
from emcourse.sta import ctf
from emcourse.sta.ctf_fit import DefocusGradient


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def ctf_right(freq, defocus, voltage, cs, amplitude_contrast, *, sign=-1.0, cs_scale=1e7):
    v = voltage * 1e3
    lam = 12.2643247 / np.sqrt(v * (1 + 0.978466e-6 * v))
    w = np.arctan(amplitude_contrast / np.sqrt(1 - amplitude_contrast**2))
    k2 = np.asarray(freq) ** 2
    chi = np.pi * lam * defocus * k2 - np.pi / 2 * cs * cs_scale * lam**3 * k2**2 + w
    return sign * np.sin(chi)


def radius_right(defocus, pixel_size, n):
    return ctf.ctf_zeros(1, defocus=defocus)[0] * n * pixel_size


def along_right(phi, du, dv, angle):
    d = np.deg2rad(np.asarray(phi) - angle)
    return 0.5 * (du + dv) + 0.5 * (du - dv) * np.cos(2 * d)


def flip_right(image, c):
    return np.fft.ifft2(np.fft.fft2(image) * np.sign(c)).real


def stub(*args):
    raise NotImplementedError("replace this line with your code")


RIGHT = {
    "ctf_curve": ctf_right,
    "thon_ring_radius": radius_right,
    "astigmatic_defocus": along_right,
    "phase_flip_image": flip_right,
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_answers_pass_and_stubs_are_not_done(name):
    check = getattr(checks, name)
    assert check(RIGHT[name]).passed
    r = check(stub)
    assert not r.passed and r.status == "not done"


@pytest.mark.parametrize(
    ("name", "wrong", "says"),
    [
        ("ctf_curve", lambda k, d, v, c, a: ctf_right(k, -d, v, c, a), "overfocus"),
        ("ctf_curve", lambda k, d, v, c, a: ctf_right(k, d * 1e4, v, c, a), "angstrom"),
        ("ctf_curve", lambda k, d, v, c, a: ctf_right(k, d, v, c, a, cs_scale=1.0), "millimetres"),
        ("ctf_curve", lambda k, d, v, c, a: ctf_right(k, d, v, c, a, sign=1.0), "RELION"),
        ("ctf_curve", lambda k, d, v, c, a: ctf_right(k, d, v, c, 0.0), "amplitude contrast"),
        ("thon_ring_radius", lambda d, p, n: radius_right(d, 1.0, n), "cycles per"),
        ("thon_ring_radius", lambda d, p, n: radius_right(d, p, n) / p**2, "divided"),
        ("thon_ring_radius", lambda d, p, n: 1 / ctf.ctf_zeros(1, defocus=d)[0], "resolution"),
        ("thon_ring_radius", lambda d, p, n: radius_right(d, p, n) / n, "multiply by n"),
        (
            "astigmatic_defocus",
            lambda phi, u, v, a: 0.5 * (u + v) + 0.5 * (u - v) * np.cos(2 * (phi - a)),
            "radians",
        ),
        (
            "astigmatic_defocus",
            lambda phi, u, v, a: along_right(0.5 * np.asarray(phi), u, v, 0.5 * a),
            "180 degrees",
        ),
        ("astigmatic_defocus", lambda phi, u, v, a: along_right(phi, v, u, a), "swapped"),
        ("phase_flip_image", lambda im, c: flip_right(flip_right(im, c), c), "twice"),
        ("phase_flip_image", lambda im, c: np.fft.ifft2(np.fft.fft2(im) * c).real, "itself"),
        ("phase_flip_image", lambda im, c: -im, "negated"),
    ],
)
def test_typical_mistakes_get_their_hint(name, wrong, says):
    r = getattr(checks, name)(wrong)
    assert not r.passed
    assert says in r.diagnosis, r


def test_reference_values_are_not_revealed():
    r = checks.thon_ring_radius(lambda d, p, n: 1.0)
    expected = radius_right(39000.0, 1.35, 512)
    assert f"{expected:.1f}" not in str(r) and f"{expected:.2f}" not in str(r)


def _gradient(slope):
    d = np.array([-500.0, 0.0, 500.0])
    return DefocusGradient(d, 4e4 + slope * d, np.array([9, 9, 9]), slope, 4e4, 0.05)


def test_gradient_prediction():
    g = _gradient(np.tan(np.radians(60)))
    assert checks.defocus_gradient_prediction(1700.0, g).passed
    r = checks.defocus_gradient_prediction(1000 * np.sin(np.radians(60)), g)
    assert not r.passed and "sin" in r.diagnosis
    r = checks.defocus_gradient_prediction(0.0, g)
    assert not r.passed and "axis" in r.diagnosis
    assert checks.defocus_gradient_prediction(..., g).status == "not done"


def test_pixel_question():
    assert checks.unknown_pixel_choice("a").passed
    for letter in "bcd":
        r = checks.unknown_pixel_choice(letter)
        assert not r.passed
    assert set(checks.unknown_pixel_choice.options) == set("abcd")
