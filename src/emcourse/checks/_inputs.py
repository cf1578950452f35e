"""Seeded test data shared by the checks (not the learner's data, on purpose)."""

from __future__ import annotations

import numpy as np

from emcourse.volume import Source, Volume


def _test_array(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A smooth, positive, asymmetric float32 volume of the given shape."""
    from emcourse.sta import phantom_map

    box = max(shape)
    full = phantom_map(box=box, voxel_size=200.0 / box * 1.0, diameter=150.0)
    start = [(box - n) // 2 for n in shape]
    vol = full[tuple(slice(s, s + n) for s, n in zip(start, shape, strict=True))]
    rng = np.random.default_rng(seed)
    vol = vol + 0.02 * rng.standard_normal(vol.shape).astype(np.float32)
    return np.ascontiguousarray(np.clip(vol, 0, None) + 0.01, dtype=np.float32)


def _test_volume(shape=(20, 24, 28), voxel_size=5.0, origin=(0.0, 0.0, 0.0), seed=0) -> Volume:
    return Volume(
        _test_array(shape, seed=seed),
        voxel_size=voxel_size,
        source=Source("emcourse-check", real=False, note="test volume of emcourse.checks"),
        origin=origin,
    )
