"""emcourse.viewers: figures render headless; static and widget modes."""

import doctest
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from emcourse import sta, viewers  # noqa: E402
from emcourse.volume import Source, Volume  # noqa: E402


@pytest.fixture
def vol():
    data = sta.phantom_map(box=24, voxel_size=10.0)
    return Volume(
        data, voxel_size=10.0, source=Source("EMD-TEST", real=False), origin=(5.0, -10.0, 0.0)
    )


@pytest.fixture(autouse=True)
def no_open_figures(monkeypatch):
    monkeypatch.delenv(viewers.STATIC_ENV, raising=False)
    yield
    # every viewer closes its figure in pyplot so notebooks show it once
    assert plt.get_fignums() == []


def render(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    img = matplotlib.image.imread(buf)
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0  # not blank
    return img


def test_orthoslices_from_a_volume(vol):
    fig = viewers.orthoslices(vol, points=[(12, 12, 12), (0, 0, 0)])
    assert isinstance(fig, Figure)
    render(fig)
    assert len(fig.axes) == 4  # three slices and a colour bar
    assert fig.axes[0].get_xlabel() == "x (Å)" and fig.axes[1].get_ylabel() == "z (Å)"
    assert "EMD-TEST" in fig._suptitle.get_text()
    # extent in Å: voxel (0,0,0) is centred on the origin
    left, right = fig.axes[0].get_xlim()
    assert left == pytest.approx(-5.0) and right == pytest.approx(235.0)
    # the point at the centre is drawn on all three slices, the corner one on none
    assert all(len(ax.collections) == 1 for ax in fig.axes[:3])


def test_orthoslices_from_an_array_counts_voxels():
    fig = viewers.orthoslices(np.random.default_rng(0).random((6, 8, 10)), title="noise")
    render(fig)
    assert fig.axes[0].get_xlabel() == "x (voxels)"
    assert fig.axes[0].images[0].get_array().shape == (8, 10)
    assert fig.axes[2].images[0].get_array().shape == (6, 8)


def test_colour_bar_label_defaults_to_density_and_can_be_set(vol):
    fig = viewers.orthoslices(vol)
    assert fig.axes[3].get_ylabel() == "density (as stored)"
    fig = viewers.orthoslices(vol, label="correlation score")
    assert fig.axes[3].get_ylabel() == "correlation score"
    fig = viewers.slice_viewer(vol, static=True, n_static=2, label="correlation score")
    assert fig.axes[-1].get_ylabel() == "correlation score"


def test_viewers_refuse_what_is_not_a_volume():
    with pytest.raises(ValueError, match="3D volume"):
        viewers.orthoslices(np.zeros((5, 5)))


@pytest.mark.parametrize("axis", [None, 1])
def test_projection(vol, axis):
    fig = viewers.projection(vol, axis=axis)
    render(fig)
    assert len(fig.axes) == (6 if axis is None else 2)


def test_isosurface(vol):
    fig = viewers.isosurface(vol, level=0.3)
    render(fig)
    assert fig.axes[0].name == "3d" and "level 0.3" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="outside the densities"):
        viewers.isosurface(vol, level=5.0)


def test_slice_viewer_static_mode_gives_a_montage(vol, monkeypatch):
    monkeypatch.setenv(viewers.STATIC_ENV, "1")
    fig = viewers.slice_viewer(vol, axis=2, points=[(12, 12, 12)])
    assert isinstance(fig, Figure)
    render(fig)
    assert "static" in fig._suptitle.get_text()


def test_slice_viewer_widget_mode_updates_its_image(vol):
    import ipywidgets

    w = viewers.slice_viewer(vol, static=False)
    assert isinstance(w, ipywidgets.VBox)
    axis_w, index_w, contrast_w, image_w = w.children[0].children[0], *w.children[1:]
    first = image_w.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    index_w.value = 3
    assert image_w.value != first
    axis_w.value = 2
    assert index_w.max == 23 and index_w.value == 12
    before = image_w.value
    contrast_w.value = (0.0, 0.5)
    assert image_w.value != before


def test_series_viewer_both_modes(vol, monkeypatch):
    import ipywidgets

    series = [vol.data * f for f in (0.2, 0.5, 1.0)]
    w = viewers.series_viewer(series, voxel_size=10.0)
    assert isinstance(w, ipywidgets.VBox)
    step_w, image_w = w.children
    assert step_w.value == 2 and image_w.value[:8] == b"\x89PNG\r\n\x1a\n"
    before = image_w.value
    step_w.value = 0
    assert image_w.value != before
    monkeypatch.setenv(viewers.STATIC_ENV, "1")
    fig = viewers.series_viewer(series, labels=["a", "b", "c"], voxel_size=10.0)
    render(fig)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="same shape"):
        viewers.series_viewer([np.zeros((4, 4, 4)), np.zeros((4, 4, 5))])


def test_docstring_examples():
    # the examples live in the submodules; testmod(viewers) alone would find none
    from emcourse.viewers import _core, sta, volumes

    results = [doctest.testmod(m) for m in (_core, sta, volumes)]
    assert sum(r.attempted for r in results) >= 5
    assert sum(r.failed for r in results) == 0
