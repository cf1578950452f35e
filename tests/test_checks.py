"""emcourse.checks: friendly feedback, values never revealed, strict mode."""

import doctest

import numpy as np
import pytest
from scipy import ndimage

from emcourse import checks
from emcourse.checks import CheckFailed, CheckResult, check_close, check_function


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


@pytest.fixture
def volume3d():
    return np.random.default_rng(0).random((20, 20, 20)).astype(np.float32)


def quiet(fn, *args, expected, **kwargs):
    return check_function(fn, *args, name="thing", expected=expected, show_result=False, **kwargs)


# -- the stub and exceptions ------------------------------------------------


def test_a_stub_is_not_done_and_gets_no_hint():
    def answer(x):
        raise NotImplementedError("Replace this line with your code")

    r = checks.show(quiet(answer, 1.0, expected=2.0, hint=("the nudge", "the method")))
    assert not r.passed and r.status == "not done"
    assert r.message.startswith("`answer` still raises NotImplementedError")
    assert "not done yet" in str(r) and "nudge" not in str(r) and "Hint" not in str(r)


def test_exception_is_one_friendly_line_with_the_learner_line():
    def answer(data):
        total = 0
        return total / 0

    r = quiet(answer, 1.0, expected=2.0)
    assert r.status == "error"
    assert "ZeroDivisionError" in r.message and "division by zero" in r.message
    assert "line 3 of `answer`" in r.message
    assert "Traceback" not in str(r) and "File " not in str(r)


def test_passing_something_not_callable():
    r = quiet(3.0, expected=2.0)
    assert r.status == "error" and "without calling it" in r.message


# -- wrong shape, dtype, NaN before values ------------------------------------


def test_wrong_shape_is_described(volume3d):
    r = quiet(lambda v: v[0], volume3d, expected=volume3d)
    assert r.message == "your array has shape (20, 20) but a (20, 20, 20) volume was expected."


def test_array_where_a_number_was_expected(volume3d):
    r = quiet(lambda v: v.sum(axis=0), volume3d, expected=1.0)
    assert "has shape (20, 20) but a single number was expected" in r.message


def test_one_element_array_counts_as_a_number():
    r = quiet(lambda x: np.array([2.0]), 1.0, expected=2.0)
    assert r.passed


@pytest.mark.parametrize(
    ("returned", "words"),
    [
        (None, "Did you forget the `return` line"),
        (np.array([True, False]), "dtype bool"),
        (np.array([1 + 1j, 2]), "complex"),
        (np.array(["a", "b"]), "text"),
        ([1.0, None], "dtype=object"),
        ("3.0", "is a str"),
    ],
)
def test_wrong_types_get_plain_words(returned, words):
    r = quiet(lambda x: returned, 1.0, expected=np.zeros(2))
    assert not r.passed and words in r.message


def test_nan_is_reported_with_its_position():
    def answer(x):
        out = np.zeros((4, 5))
        out[1, 2] = np.nan
        out[3, 3] = np.inf
        return out

    r = quiet(answer, 1.0, expected=np.zeros((4, 5)))
    assert "1 NaN and 1 infinite values (the first at index (1, 2))" in r.message


def test_tuple_answers_are_checked_item_by_item():
    expected = (np.zeros((2, 3)), np.zeros((3, 4)))
    r = quiet(lambda x: (np.zeros((2, 3)),), 1.0, expected=expected)
    assert r.message == "your answer has 1 values but 2 were expected."
    r = quiet(lambda x: (np.zeros((2, 3)), np.zeros((4, 3))), 1.0, expected=expected)
    assert "value 2 of 2 in your answer has shape (4, 3) but a (3, 4) image" in r.message


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ([[1.0, 2.0], [3.0, 4.0]], np.zeros((2, 2))),  # nested list for an image
        (np.zeros((2, 3)), (np.ones(3), np.ones(3))),  # stacked array for a tuple of arrays
        ((1.0, [2.0, 3.0]), (0.0, np.zeros(2))),  # a number and an array
    ],
)
def test_other_containers_of_the_right_shape_are_compared(returned, expected):
    r = quiet(lambda x: returned, 1.0, expected=expected, atol=0.5, rtol=0)
    assert r.status == "failed" and "tolerance 0.5" in r.message
    r = quiet(lambda x: returned, 1.0, expected=expected, atol=10.0, rtol=0)
    assert r.passed


# -- comparing, without revealing -------------------------------------------


def test_check_close_reports_value_error_and_tolerance_but_not_the_answer():
    r = check_close("shift", 3.2, 7.123456, rtol=0, atol=1.0, units="voxels", show_result=False)
    assert not r.passed
    assert (
        r.message == "your shift is 3.2 voxels, which is off by 3.923 voxels (tolerance 1 voxels)."
    )
    assert r.value == pytest.approx(3.923456) and r.tolerance == 1.0
    assert "7.12" not in str(r) and "7.12" not in r._repr_html_()


def test_check_close_passes_within_tolerance():
    r = check_close("shift", 7.5, 7.123456, atol=1.0, show_result=False)
    assert r.passed and r.status == "passed" and "right" in r.message


def test_array_comparison_does_not_print_the_reference(volume3d):
    expected = volume3d + 5.4321  # values 5.43 to 6.43
    r = quiet(lambda v: v * 2, volume3d, expected=expected, rtol=0, atol=1e-3)
    assert not r.passed and "shape of your thing is right" in r.message
    assert "6.4" not in r.message and "5.4" not in r.message.replace(f"{r.value:.4g}", "")


def test_diagnoses_give_a_targeted_hint():
    r = check_close(
        "size",
        (20, 24),
        (100.0, 120.0),
        atol=0.1,
        show_result=False,
        diagnoses=[((20, 24), "that is in voxels")],
        hint="generic",
    )
    assert r.diagnosis == "that is in voxels" and "Diagnosis: that is in voxels" in str(r)
    assert "generic" not in str(r)


# -- display and strict mode -------------------------------------------------


def test_checks_print_and_return(capsys):
    r = check_close("shift", 3.0, 3.0, atol=0.1)
    assert isinstance(r, CheckResult) and r.passed and bool(r)
    assert "✔ shift: passed" in capsys.readouterr().out


def test_html_box_is_coloured_and_escaped():
    r = CheckResult(False, "a<b", message="x & y")
    html = r._repr_html_()
    assert "#b00020" in html and "a&lt;b" in html and "x &amp; y" in html
    assert "#1e7e34" in CheckResult(True, "ok")._repr_html_()


def test_strict_mode_raises_on_failure(monkeypatch, capsys):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    with pytest.raises(CheckFailed, match="off by") as info:
        check_close("shift", 3.0, 9.0, atol=0.1)
    assert isinstance(info.value, AssertionError)
    with pytest.raises(CheckFailed, match="not done yet"):
        checks.central_slices(lambda data: (_ for _ in ()).throw(NotImplementedError("x")))
    assert check_close("shift", 3.0, 3.0, atol=0.1).passed  # a pass never raises


# -- the 00-archives checks: sample solutions pass, typical mistakes do not ---


def box_size_angstrom(vol):
    return tuple(n * s for n, s in zip(vol.shape, vol.voxel_size_zyx, strict=True))


def central_slices(data):
    nz, ny, nx = data.shape
    return data[nz // 2], data[:, ny // 2], data[:, :, nx // 2]


def centre_of_mass(vol):
    com = ndimage.center_of_mass(vol.data)
    return tuple(o + c * s for o, c, s in zip(vol.origin, com, vol.voxel_size_zyx, strict=True))


def threshold_for_volume(vol, target_A3):
    n = int(round(target_A3 / np.prod(vol.voxel_size_zyx)))
    return np.sort(vol.data, axis=None)[::-1][n - 1]


@pytest.mark.parametrize(
    ("check", "answer"),
    [
        (checks.box_size_angstrom, box_size_angstrom),
        (checks.central_slices, central_slices),
        (checks.projection, lambda data: data.sum(axis=0)),
        (checks.centre_of_mass, centre_of_mass),
        (checks.threshold_for_volume, threshold_for_volume),
    ],
)
def test_sample_solutions_pass_even_in_strict_mode(monkeypatch, check, answer, capsys):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    assert check(answer).passed


@pytest.mark.parametrize(
    ("check", "answer", "hint_words"),
    [
        (checks.box_size_angstrom, lambda v: v.shape, "box in voxels"),
        (checks.box_size_angstrom, lambda v: box_size_angstrom(v)[::-1], "(z, y, x)"),
        (checks.central_slices, lambda d: central_slices(d)[::-1], "the order is (z, y, x)"),
        (checks.projection, lambda d: d.mean(axis=0), "that is the mean"),
        (checks.centre_of_mass, lambda v: np.array(ndimage.center_of_mass(v.data)), "in voxels"),
        (
            checks.centre_of_mass,
            lambda v: np.array(ndimage.center_of_mass(v.data)) * v.voxel_size_zyx,
            "add `vol.origin`",
        ),
        (checks.box_size_angstrom, lambda v: np.array(box_size_angstrom(v)) / 10, "nanometres"),
        (
            checks.central_slices,
            lambda d: tuple(np.take(d, n // 2 - 1, axis=a) for a, n in enumerate(d.shape)),
            "one before the middle",
        ),
        (checks.projection, lambda d: d.max(axis=0), "maximum-intensity"),
        (
            checks.centre_of_mass,
            lambda v: np.array(ndimage.center_of_mass(v.data)) * v.voxel_size_zyx - v.origin,
            "do not subtract",
        ),
        (checks.threshold_for_volume, lambda v, t: float(v.data.mean()), "map's statistics"),
        (
            checks.threshold_for_volume,
            lambda v, t: float(v.data.mean() + 2 * v.data.std()),
            "map's statistics",
        ),
        (  # the target in Å^3 taken for a number of voxels
            checks.threshold_for_volume,
            lambda v, t: np.sort(v.data, axis=None)[::-1][int(round(t)) - 1],
            "target in Å³ for a number of voxels",
        ),
        (  # divided by the voxel edge, not its volume
            checks.threshold_for_volume,
            lambda v, t: np.sort(v.data, axis=None)[::-1][int(round(t / v.voxel_size)) - 1],
            "edge cubed",
        ),
        (  # sorted from low to high
            checks.threshold_for_volume,
            lambda v, t: np.sort(v.data, axis=None)[int(round(t / np.prod(v.voxel_size_zyx))) - 1],
            "lowest density",
        ),
    ],
)
def test_typical_mistakes_fail_with_a_targeted_hint(check, answer, hint_words, capsys):
    r = check(answer)
    assert not r.passed and hint_words in r.diagnosis


def test_stubs_of_the_sheet_report_not_done(capsys):
    def stub(*args):
        raise NotImplementedError("Replace this line with your code")

    for check in (
        checks.box_size_angstrom,
        checks.central_slices,
        checks.projection,
        checks.centre_of_mass,
        checks.threshold_for_volume,
    ):
        r = check(stub)
        assert r.status == "not done" and "still raises NotImplementedError" in r.message


def test_a_quantile_threshold_passes_too(capsys):
    def quantile(vol, target):
        n = target / np.prod(vol.voxel_size_zyx)
        return np.quantile(vol.data, 1 - n / vol.data.size)

    assert checks.threshold_for_volume(quantile).passed


def test_the_finest_detail_prediction(capsys):
    from emcourse.checks._inputs import _test_volume

    vol = _test_volume(voxel_size=11.4)
    assert checks.finest_detail_prediction(..., vol).status == "not done"
    r = checks.finest_detail_prediction(23.0, vol)
    assert r.passed and "22.8 Å" in r.message and "Nyquist" in r.message
    assert "that is one voxel" in checks.finest_detail_prediction(11.4, vol).diagnosis


def test_the_sampling_question_explains_every_option(capsys):
    assert checks.sampling_choice(...).status == "not done"
    assert checks.sampling_choice("c").passed
    for wrong, words in (("a", "not the resolution"), ("b", "282 Å"), ("d", "binned")):
        r = checks.sampling_choice(wrong)
        assert not r.passed and words in r.diagnosis


def test_the_sheet_lists_the_options_its_check_knows():
    import json
    import re
    from pathlib import Path

    sheet = Path(__file__).parents[1] / "solutions/00-archives/01-public-archives.ipynb"
    text = " ".join("".join(c["source"]) for c in json.loads(sheet.read_text())["cells"])
    text = re.sub(r"\s+", " ", text)
    for letter, option in checks.sampling_choice.options.items():
        assert f"({letter}) {option}" in text, letter


def test_box_size_never_reveals_the_box(capsys):
    r = checks.box_size_angstrom(lambda v: (1.0, 2.0, 3.0))
    for ref in ("100", "120", "140"):
        assert ref not in r.message


def test_docstring_examples():
    from emcourse.checks import _core

    # the examples live in _core; testmod(checks) would find none and always pass
    result = doctest.testmod(_core, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
