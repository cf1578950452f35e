"""Checks of the averaging sheets: right answers pass, typical mistakes fail with a hint."""

import numpy as np
import pytest

from emcourse import checks, sta


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def stub(*args):
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------- sheet 10-08


def find_shift(reference, moved):
    cc = np.fft.ifftn(np.fft.fftn(moved) * np.conj(np.fft.fftn(reference))).real
    peak = np.array(np.unravel_index(np.argmax(cc), cc.shape))
    n = np.array(cc.shape)
    return tuple(np.where(peak > n // 2, peak - n, peak))


def test_find_shift():
    assert checks.find_shift(find_shift).passed
    r = checks.find_shift(lambda a, b: tuple(-np.asarray(find_shift(a, b))))
    assert not r.passed and "sign" in r.diagnosis
    r = checks.find_shift(lambda a, b: tuple(np.asarray(find_shift(a, b)) % a.shape))
    assert not r.passed
    assert checks.find_shift(stub).status == "not done"


def test_aligned_average():
    def good(subs, shifts):
        pairs = zip(subs, shifts, strict=True)
        return np.mean([np.roll(s, tuple(-t), axis=(0, 1, 2)) for s, t in pairs], axis=0)

    def fourier(subs, shifts):
        return np.mean([sta.shift_volume(s, -t) for s, t in zip(subs, shifts, strict=True)], axis=0)

    assert checks.aligned_average(good).passed
    assert checks.aligned_average(fourier).passed
    r = checks.aligned_average(lambda subs, shifts: subs.mean(axis=0))
    assert not r.passed and "without undoing" in r.diagnosis


def test_gold_standard_halves():
    def good(n, seed):
        perm = np.random.default_rng(seed).permutation(n)
        return perm[: n // 2], perm[n // 2 :]

    assert checks.gold_standard_halves(good).passed
    r = checks.gold_standard_halves(lambda n, seed: (np.arange(n // 2), np.arange(n // 2, n)))
    assert not r.passed and "order of the list" in r.diagnosis
    r = checks.gold_standard_halves(lambda n, seed: (np.arange(n), np.arange(n // 2, n)))
    assert not r.passed
    r = checks.gold_standard_halves(lambda n, seed: good(n, 0))
    assert not r.passed and "seed" in r.diagnosis


def test_rotation_error():
    def good(R1, R2):
        return np.degrees(np.arccos(np.clip((np.trace(R1.T @ R2) - 1) / 2, -1, 1)))

    assert checks.rotation_error(good).passed
    r = checks.rotation_error(lambda R1, R2: np.deg2rad(good(R1, R2)))
    assert not r.passed and "radians" in r.diagnosis


# ----------------------------------------------------------------- sheet 10-09


def fsc_curve(a, b, shell_index=np.rint):
    n = a.shape[0]
    Fa, Fb = np.fft.fftn(a), np.fft.fftn(b)
    k = np.fft.fftfreq(n)
    kz, ky, kx = np.meshgrid(k, k, k, indexing="ij")
    shell = shell_index(n * np.sqrt(kz**2 + ky**2 + kx**2)).astype(int).ravel()
    keep = shell <= n // 2

    def per_shell(x):
        return np.bincount(shell[keep], x.ravel()[keep], minlength=n // 2 + 1)

    num = per_shell((Fa * np.conj(Fb)).real)
    return num / np.sqrt(per_shell(np.abs(Fa) ** 2) * per_shell(np.abs(Fb) ** 2))


def test_fsc_curve():
    assert checks.fsc_curve(fsc_curve).passed
    assert not checks.fsc_curve(lambda a, b: fsc_curve(a, a)).passed
    assert not checks.fsc_curve(lambda a, b: fsc_curve(a, b)[:-1]).passed


def test_resolution_at_threshold():
    def good(freq, curve, threshold):
        below = np.nonzero(curve[1:] < threshold)[0]
        if len(below) == 0:
            return 1 / freq[-1]
        i = below[0] + 1
        t = (threshold - curve[i - 1]) / (curve[i] - curve[i - 1])
        return 1 / (freq[i - 1] + t * (freq[i] - freq[i - 1]))

    def no_interp(freq, curve, threshold):
        below = np.nonzero(curve[1:] < threshold)[0]
        return 1 / freq[below[0] + 1] if len(below) else 1 / freq[-1]

    assert checks.resolution_at_threshold(good).passed
    r = checks.resolution_at_threshold(no_interp)
    assert not r.passed and "interpolate" in r.diagnosis


def test_lowpass_to_resolution():
    def hard(volume, resolution_A, voxel_size):
        k = [np.fft.fftfreq(n, d=voxel_size) for n in volume.shape]
        kz, ky, kx = np.meshgrid(*k, indexing="ij")
        keep = np.sqrt(kz**2 + ky**2 + kx**2) <= 1 / resolution_A
        return np.fft.ifftn(np.fft.fftn(volume) * keep).real

    def soft(volume, resolution_A, voxel_size):
        return sta.lowpass(volume, resolution_A, voxel_size=voxel_size)

    assert checks.lowpass_to_resolution(hard).passed
    assert checks.lowpass_to_resolution(soft).passed
    # the same in cycles per voxel is right; forgetting the voxel size is not
    assert checks.lowpass_to_resolution(lambda v, r, s: hard(v, r / s, 1.0)).passed
    assert not checks.lowpass_to_resolution(lambda v, r, s: hard(v, r, 1.0)).passed
    assert not checks.lowpass_to_resolution(lambda v, r, s: v).passed


def shifts_as_xyz(subs, shifts):
    pairs = zip(subs, shifts, strict=True)
    return np.mean([np.roll(s, tuple(-t[::-1]), axis=(0, 1, 2)) for s, t in pairs], axis=0)


def coin_flip(n, seed):
    heads = np.random.default_rng(seed).random(n) < 0.5
    return np.nonzero(heads)[0], np.nonzero(~heads)[0]


def with_replacement(n, seed):
    a = np.random.default_rng(seed).choice(n, n // 2)
    return a, np.setdiff1d(np.arange(n), a)


def hard_lowpass(volume, resolution_A, voxel_size):
    k = [np.fft.fftfreq(n, d=voxel_size) for n in volume.shape]
    kz, ky, kx = np.meshgrid(*k, indexing="ij")
    keep = np.sqrt(kz**2 + ky**2 + kx**2) <= 1 / resolution_A
    return np.fft.ifftn(np.fft.fftn(volume) * keep).real


def good_resolution(freq, curve, threshold):
    return sta.resolution_at(freq, curve, threshold)


@pytest.mark.parametrize(
    ("name", "wrong", "says"),
    [
        ("find_shift", lambda a, b: tuple(np.asarray(find_shift(a, b))[::-1]), "(dx, dy, dz)"),
        ("aligned_average", shifts_as_xyz, "you read it as (x, y, z)"),
        ("gold_standard_halves", coin_flip, "coin flip"),
        ("gold_standard_halves", with_replacement, "drawn twice"),
        (
            "gold_standard_halves",
            lambda n, seed: (np.arange(n // 2), np.arange(n // 2, n)),
            "order of the list",
        ),
        (
            "rotation_error",
            lambda R1, R2: np.degrees(np.arccos(np.clip((np.trace(R1 @ R2) - 1) / 2, -1, 1))),
            "R1.T @ R2",
        ),
        ("fsc_curve", lambda a, b: fsc_curve(a, b, shell_index=np.floor), "truncated"),
        ("fsc_curve", lambda a, b: fsc_curve(a, a), "with itself"),
        ("resolution_at_threshold", lambda f, c, t: 1 / good_resolution(f, c, t), "frequency"),
        ("lowpass_to_resolution", lambda v, r, s: hard_lowpass(v, r, 1.0), "cycles per voxel"),
        ("lowpass_to_resolution", lambda v, r, s: v - hard_lowpass(v, r, s), "kept the fine"),
    ],
)
def test_typical_mistakes_are_diagnosed(name, wrong, says):
    r = getattr(checks, name)(wrong)
    assert not r.passed and says in r.diagnosis


def test_a_magnitude_fsc_is_diagnosed_on_the_half_maps_too():
    from emcourse.checks.resolution import _fsc_variant

    ref = sta.phantom_map(box=24, voxel_size=10.0)
    rng = np.random.default_rng(3)
    a, b = (ref + 0.5 * ref.std() * rng.standard_normal(ref.shape) for _ in range(2))
    assert (
        "real part" in checks.fsc_curve(lambda a, b: _fsc_variant(a, b, magnitude=True)).diagnosis
    )
    r = checks.fsc_on_half_maps(
        lambda a, b: fsc_curve(a, b, shell_index=np.floor), a, b, voxel_size=10.0
    )
    assert not r.passed and "truncated" in r.diagnosis


def test_all_exported():
    for name in [*checks.averaging.__all__, *checks.resolution.__all__]:
        assert callable(getattr(checks, name))


def test_fsc_on_half_maps():
    good = fsc_curve

    def floor_shells(a, b):  # a typical slip: truncating instead of rounding the shell index
        return fsc_curve(a, b, shell_index=np.floor)

    from emcourse.sta import phantom_map

    ref = phantom_map(box=24, voxel_size=10.0)
    rng = np.random.default_rng(3)
    a = ref + 0.5 * ref.std() * rng.standard_normal(ref.shape)
    b = ref + 0.5 * ref.std() * rng.standard_normal(ref.shape)
    truth = sta.resolution_at(*sta.fsc(a, b, voxel_size=10.0), 0.143)
    r = checks.fsc_on_half_maps(good, a, b, voxel_size=10.0)
    assert r.passed and r.value == pytest.approx(truth)
    r = checks.fsc_on_half_maps(floor_shells, a, b, voxel_size=10.0)
    assert not r.passed and f"{truth:.1f}" not in r.message  # never reveals the answer
    r = checks.fsc_on_half_maps(lambda a, b: np.ones(3), a, b, voxel_size=10.0)
    assert not r.passed and "13" in r.message
    assert checks.fsc_on_half_maps(stub, a, b, voxel_size=10.0).status == "not done"
    with pytest.raises(ValueError, match="cubic"):
        checks.fsc_on_half_maps(good, a[:, :, :20], b, voxel_size=10.0)
