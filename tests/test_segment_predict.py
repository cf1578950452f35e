"""predict_mito: the shipped (or given) U-Net on a 2D image of any pixel size."""

import numpy as np
import pytest
from skimage.transform import rescale

from emcourse.io import read_shipped_unet
from emcourse.mito import predict_mito
from emcourse.segment import dice, hela_standin, unet_predict


@pytest.fixture(scope="module")
def held_out():
    """A held-out slice of the shipped network's stand-in (15 nm) and the volume's limits."""
    vol = hela_standin((128, 256, 256), seed=0)
    return vol.em[100], vol.labels[100], np.percentile(vol.em, [1, 99])


def test_at_the_network_pixel_size_it_is_the_numpy_unet():
    s = hela_standin((3, 64, 64), seed=1)
    img = s.em[1]
    expected = unet_predict(img[None], read_shipped_unet())[0]
    assert np.allclose(predict_mito(img, 15.0), expected, atol=1e-6)


@pytest.mark.parametrize("factor", [1.5, 3.0])  # 10 nm and 5 nm pixels
def test_finer_pixels_are_rescaled_to_15nm_and_back(held_out, factor):
    img, labels, limits = held_out
    fine = rescale(img.astype(np.float32), factor, order=1)
    truth = rescale(labels > 0, factor, order=0)
    prob = predict_mito(fine, 15.0 / factor, limits=limits)
    assert prob.shape == fine.shape and prob.dtype == np.float32
    native = dice(labels > 0, predict_mito(img, 15.0, limits=limits) > 0.5)
    assert native > 0.98 and dice(truth, prob > 0.5) > 0.97
    if factor == 3.0:  # told the wrong pixel size, it does worse (0.958 against 0.982)
        wrong = predict_mito(fine, 15.0, limits=limits)
        assert dice(truth, wrong > 0.5) < dice(truth, prob > 0.5) - 0.01


def test_weights_from_a_file_and_refused_files(tmp_path):
    img = hela_standin((3, 64, 64), seed=1).em[1]
    path = tmp_path / "w.npz"
    np.savez(path, **read_shipped_unet())
    assert np.array_equal(predict_mito(img, 10.0, weights=path), predict_mito(img, 10.0))
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(ValueError, match="U-Net weights"):
        predict_mito(img, 10.0, weights=bad)
    with pytest.raises(ValueError, match="2D"):
        predict_mito(np.zeros((2, 8, 8)), 10.0)
