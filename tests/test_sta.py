"""Tests for emcourse.sta: round trips on synthetic data with known answers."""

import numpy as np
import pytest

from emcourse import sta

VOXEL = 10.0


@pytest.fixture(scope="module")
def ref():
    return sta.phantom_map(box=32, voxel_size=VOXEL)


# ----------------------------------------------------------------- rotations


def test_euler_matrix_round_trip():
    rng = np.random.default_rng(0)
    e = np.column_stack(
        [rng.uniform(-180, 180, 200), rng.uniform(1, 179, 200), rng.uniform(-180, 180, 200)]
    )
    R = sta.euler_to_matrix(e)
    np.testing.assert_allclose(
        R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    np.testing.assert_allclose(sta.matrix_to_euler(R), e, atol=1e-8)
    # matrix -> euler -> matrix also for random rotations (incl. the gimbal case)
    Rr = np.concatenate([sta.random_rotations(100, seed=1), sta.euler_to_matrix([[30, 0, 20]])])
    np.testing.assert_allclose(sta.euler_to_matrix(sta.matrix_to_euler(Rr)), Rr, atol=1e-9)


def test_relion_matrix_is_zyz():
    """A = Rz(psi) Ry(tilt) Rz(rot) with RELION's passive-looking sign convention."""

    def rz(a):
        c, s = np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))
        return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])

    def ry(a):
        c, s = np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))
        return np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])

    np.testing.assert_allclose(sta.euler_to_matrix([10, 20, 30]), rz(30) @ ry(20) @ rz(10))


def test_random_rotations_uniform():
    R = sta.random_rotations(4000, seed=0)
    # the rotated z axis is uniform on the sphere: mean ~ 0, <z^2> ~ 1/3
    z = R[:, :, 2]
    assert np.abs(z.mean(axis=0)).max() < 0.05
    assert (z**2).mean(axis=0) == pytest.approx([1 / 3] * 3, abs=0.03)
    # angles of uniform rotations: density (1 - cos w)/pi, mean = pi/2 + 2/pi
    w = np.deg2rad(sta.rotation_angle_between(np.eye(3), R))
    assert w.mean() == pytest.approx(np.pi / 2 + 2 / np.pi, abs=0.05)


@pytest.mark.parametrize(
    ("step", "n", "radius"),
    [(90.0, 24, 62.80), (45.0, 60, 44.48), (30.0, 360, 27.78), (16.29, 1992, 16.29)],
)
def test_angular_sampling_covers_so3_within_the_step(step, n, radius):
    angles = sta.angular_sampling(step)
    assert len(angles) == n  # Karney's sets: as few as the best published uniform sets
    np.testing.assert_allclose(
        angles @ angles.transpose(0, 2, 1), np.broadcast_to(np.eye(3), angles.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(angles), 1.0)
    # every rotation lies within the step of the set (measured: a lower bound of the radius)
    measured = sta.covering_radius(angles, probes=4000)
    assert radius - 0.3 < measured <= radius + 0.01 <= step + 0.01
    # no member repeated (a covering need not be a packing: neighbours across cells are close)
    gaps = sta.rotation_angle_between(angles[:200, None], angles[None])
    assert np.sort(gaps, axis=1)[:, 1].min() > radius / 4


def test_angular_sampling_grows_as_the_step_shrinks():
    sizes = [len(sta.angular_sampling(s)) for s in (180, 60, 25, 15, 10, 7)]
    assert sizes == sorted(sizes) and sizes[0] == 24
    assert len(sta.angular_sampling(3.0)) > 207576  # finer than Karney's table: a finer grid
    with pytest.raises(ValueError, match="step_deg"):
        sta.angular_sampling(0)


def test_local_rotations():
    local = sta.local_rotations(10.0, 5.0)
    assert sta.rotation_angle_between(np.eye(3), local).max() < 15.0
    np.testing.assert_allclose(local[0], np.eye(3))  # identity first


def test_crowther_step():
    assert sta.crowther_step(300, 40) == pytest.approx(7.64, abs=0.01)  # pytom-match-pick's rule
    with pytest.raises(ValueError, match="positive"):
        sta.crowther_step(0, 40)


def test_rotate_volume_convention():
    """Active rotation about the box centre, matrices on (x, y, z): Rz(rot=90) maps +x -> -y."""
    vol = np.zeros((17, 17, 17), np.float32)
    vol[8, 8, 12] = 1  # +4 along x
    out = sta.rotate_volume(vol, sta.euler_to_matrix([90, 0, 0]))
    assert np.argwhere(out > 0.5).tolist() == [[8, 4, 8]]
    # tilt=90 about y: R maps x -> (0, 0, 1)?  A[2, 0] = sin(tilt) cos(rot) = 1: +x -> +z
    out = sta.rotate_volume(vol, sta.euler_to_matrix([0, 90, 0]))
    assert np.argwhere(out > 0.5).tolist() == [[12, 8, 8]]


def test_shift_volume_subvoxel(ref):
    shifted = sta.shift_volume(ref, (0.5, -1.25, 2.0))
    back = sta.shift_volume(shifted, (-0.5, 1.25, -2.0))
    np.testing.assert_allclose(back, ref, atol=1e-3)  # the Nyquist term is lost, nothing else
    com = np.array([np.sum(shifted * g) for g in np.indices(ref.shape)]) / shifted.sum()
    com0 = np.array([np.sum(ref * g) for g in np.indices(ref.shape)]) / ref.sum()
    np.testing.assert_allclose(com - com0, (0.5, -1.25, 2.0), atol=0.01)


def test_resample_keeps_centre_and_size():
    """An 11.4 A map brought to 10 A matches the same phantom rendered at 10 A."""
    coarse = sta.phantom_map(box=20, voxel_size=11.4, diameter=137.0)
    fine = sta.resample(coarse, voxel_size=11.4, new_voxel_size=10.0, box=32)
    truth = sta.phantom_map(box=32, voxel_size=10.0, diameter=137.0)
    assert fine.shape == (32, 32, 32) and fine.dtype == np.float32
    assert np.corrcoef(fine.ravel(), truth.ravel())[0, 1] > 0.98
    com = lambda v: np.array([np.sum(v * g) for g in np.indices(v.shape)]) / v.sum()  # noqa: E731
    np.testing.assert_allclose(com(fine), com(truth), atol=0.1)
    # the integrated density scales with the voxel volume, nothing is rescaled
    assert fine.sum() * 10.0**3 == pytest.approx(coarse.sum() * 11.4**3, rel=0.01)
    same = sta.resample(coarse, voxel_size=11.4, new_voxel_size=11.4)
    np.testing.assert_allclose(same, coarse, atol=1e-5)
    with pytest.raises(ValueError, match="positive voxel sizes"):
        sta.resample(coarse, voxel_size=0, new_voxel_size=10.0)


# ----------------------------------------------------------------- wedge, fsc, lowpass


def test_wedge_mask_layouts_and_rotation():
    full = sta.wedge_mask((16, 16, 16), tilt_range=(-60, 60), rfft=False)
    half = sta.wedge_mask((16, 16, 16), tilt_range=(-60, 60), rfft=True)
    np.testing.assert_array_equal(full[:, :, :9], half)
    # (kz, kx) = (1, 3)/16 is 18 deg from k_x: sampled; (3, 1)/16 is 72 deg: in the wedge
    assert full[1, 0, 3] == 1 and full[3, 0, 1] == 0
    # rotating by 90 deg about y (tilt) turns the wedge around k_x
    R = sta.euler_to_matrix([0, 90, 0])
    rot = sta.wedge_mask((16, 16, 16), tilt_range=(-60, 60), rfft=False, rotation=R)
    assert rot[1, 0, 3] == 0 and rot[3, 0, 1] == 1
    with pytest.raises(ValueError, match="tilt_range"):
        sta.wedge_mask((8, 8, 8), tilt_range=(60, -60))


def test_fsc_identical_and_independent():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(32, 32, 32))
    b = rng.normal(size=(32, 32, 32))
    f, c = sta.fsc(a, a, voxel_size=VOXEL)
    np.testing.assert_allclose(c, 1.0)
    assert f[-1] == pytest.approx(1 / (2 * VOXEL))
    _, c = sta.fsc(a, b, voxel_size=VOXEL)
    assert np.abs(c[2:]).max() < 0.2  # ~ 3/sqrt(voxels per shell)
    assert np.abs(c[4:]).mean() < 0.05
    assert sta.resolution_at(f, np.ones_like(f)) == pytest.approx(2 * VOXEL)


def test_lowpass_behaviour(ref):
    low = sta.lowpass(ref, 40.0, voxel_size=VOXEL)
    f, c = sta.fsc(low, ref, voxel_size=VOXEL)
    power = np.abs(np.fft.rfftn(low)) ** 2
    k = np.sqrt(
        sum(
            g**2
            for g in np.meshgrid(
                np.fft.fftfreq(32), np.fft.fftfreq(32), np.fft.rfftfreq(32), indexing="ij"
            )
        )
    )
    assert power[k / VOXEL > 1.1 / 40].max() < 1e-8 * power.max()
    np.testing.assert_allclose(
        np.fft.rfftn(low)[k / VOXEL < 0.9 / 40],
        np.fft.rfftn(ref)[k / VOXEL < 0.9 / 40],
        rtol=1e-4,
        atol=1e-3,
    )
    # FSC is blind to per-shell scaling: it only drops where the filter reaches zero
    assert sta.resolution_at(f, c, 0.5) == pytest.approx(40.0 / 1.1, rel=0.05)
    assert low.dtype == ref.dtype and abs(low.sum() - ref.sum()) < 1e-2 * ref.sum()


# ----------------------------------------------------------------- align, average


def test_align_recovers_rotation_and_shift(ref):
    """Known pose in, pose out: rotation within 2 deg (last step 1.25), shift within 0.2 voxel."""
    R_true = sta.euler_to_matrix([40.0, 70.0, -25.0])
    shift = np.array([1.6, -2.3, 0.7])
    particle = sta.rotate_volume(ref, R_true, shift=shift, order=3)
    wedge = (-60, 60)
    particle = np.fft.irfftn(
        np.fft.rfftn(particle) * sta.wedge_mask(particle.shape, tilt_range=wedge),
        s=particle.shape,
        axes=(0, 1, 2),
    )
    particle += np.random.default_rng(0).normal(scale=0.05, size=particle.shape)
    poses = sta.Poses(
        (R_true @ sta.euler_to_matrix([8, 6, -7]))[None], np.zeros((1, 3)), np.zeros(1)
    )  # start 6 deg and 2.9 voxels away; search locally with a halving step, as refine does
    for step in (10.0, 5.0, 2.5):
        poses = sta.align(
            particle[None],
            ref,
            angles=sta.local_rotations(step, step / 2),
            max_shift=4,
            wedge=wedge,
            poses=poses,
        )
    assert sta.rotation_angle_between(poses.rotations[0], R_true) < 2.0
    np.testing.assert_allclose(poses.shifts[0], shift, atol=0.2)
    assert poses.scores[0] > 0.8


def test_average_compensates_wedge(ref):
    R = sta.random_rotations(24, seed=4)
    wedge = (-50, 50)
    subs = []
    for r in R:
        p = sta.rotate_volume(ref, r, order=3)
        subs.append(
            np.fft.irfftn(
                np.fft.rfftn(p) * sta.wedge_mask(p.shape, tilt_range=wedge),
                s=p.shape,
                axes=(0, 1, 2),
            )
        )
    poses = sta.Poses(R, np.zeros((24, 3)), np.zeros(24))
    comp = sta.average(np.array(subs), poses, wedge=wedge, order=3)
    plain = sta.average(np.array(subs), poses, wedge=None, order=3)
    cc = lambda v: np.corrcoef(v.ravel(), ref.ravel())[0, 1]  # noqa: E731
    assert cc(comp) > 0.97
    assert cc(comp) > cc(plain)
    # weighting restores the scale that the plain average loses to the wedges
    assert comp.max() == pytest.approx(ref.max(), rel=0.15)


def test_einstein_from_noise(ref):
    small = sta.bin_volume(ref, 2)
    avg, cc, cc0 = sta.einstein_from_noise(small, n=40, angles=sta.angular_sampling(45.0))
    assert cc > 0.4
    assert abs(cc0) < 0.2
    assert avg.shape == small.shape


def test_extract_and_half_sets():
    tomo = np.random.default_rng(0).normal(size=(20, 30, 30)).astype(np.float32)
    sub = sta.extract_subtomograms(tomo, [[10, 15, 15], [1, 1, 1]], box=8)
    np.testing.assert_array_equal(sub[0], tomo[6:14, 11:19, 11:19])
    assert sub[1, 0, 0, 0] == 0 and sub[1, 4, 4, 4] == tomo[1, 1, 1]
    a, b = sta.half_sets(11, seed=1)
    assert len(np.intersect1d(a, b)) == 0 and len(a) + len(b) == 11


@pytest.mark.parametrize("wedge", [None, (-60.0, 60.0), (-50.0, 60.0)])
def test_template_match_turns_the_tomogram_exactly(monkeypatch, wedge):
    """Rotations 180 deg apart about an axis share one template FFT, with unchanged scores."""
    from emcourse.sta import matching

    rng = np.random.default_rng(0)
    tomo = rng.standard_normal((24, 28, 32)).astype(np.float32)
    tpl = sta.phantom_map(box=16, voxel_size=20.0)
    turns = [np.eye(3), np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])]
    angles = np.array([G @ R for R in sta.random_rotations(2, seed=3) for G in turns])
    orbits = matching._flip_orbits(angles, matching._FLIPS)
    assert [len(o) for o in orbits] == [4, 4]
    shared, shared_best = sta.template_match(tomo, tpl, angles=angles, wedge=wedge)
    monkeypatch.setattr(matching, "_FLIPS", ())
    each, each_best = sta.template_match(tomo, tpl, angles=angles, wedge=wedge)
    np.testing.assert_allclose(shared, each, atol=1e-6)
    np.testing.assert_array_equal(shared_best, each_best)


def test_find_peaks_and_precision_recall():
    s = np.zeros((20, 20, 20))
    truth = np.array([[5, 5, 5], [5, 5, 9], [15, 15, 15]])
    for p, v in zip(truth, [3.0, 2.0, 1.0], strict=True):
        s[tuple(p)] = v
    found = sta.find_peaks(s, min_distance=6)
    assert found.tolist() == [[5, 5, 5], [15, 15, 15]]  # the weaker close one is suppressed
    assert sta.find_peaks(s, min_distance=3).tolist() == truth.tolist()
    assert sta.find_peaks(s, min_distance=3, n=1).tolist() == [[5, 5, 5]]
    assert sta.find_peaks(s, min_distance=3, threshold=1.5).shape == (2, 3)
    assert sta.precision_recall(found, truth, tolerance=1) == (1.0, pytest.approx(2 / 3))


# ----------------------------------------------------------------- the whole pipeline


@pytest.fixture(scope="module")
def pipeline(ref):
    """Lesson-size run: simulate, match (binned by 2), refine at full sampling."""
    sim = sta.simulate_tomogram(
        ref, voxel_size=VOXEL, shape=(64, 256, 256), n_particles=60, snr=0.1, seed=0
    )
    tomo2 = sta.bin_volume(sim.tomogram, 2)
    angles = sta.angular_sampling(30.0)
    scores, best = sta.template_match(
        tomo2, sta.bin_volume(ref, 2), angles=angles, wedge=sim.tilt_range
    )
    peaks2 = sta.find_peaks(scores, min_distance=8, n=60)
    peaks = peaks2 * 2 + 0.5
    subs = sta.extract_subtomograms(sim.tomogram, peaks, box=32)
    init = sta.Poses(angles[best[tuple(peaks2.T)]], peaks - np.rint(peaks), np.zeros(len(peaks)))
    result = sta.refine(
        subs,
        ref,
        poses=init,
        wedge=sim.tilt_range,
        voxel_size=VOXEL,
        iterations=3,
        start_step=30.0,
        initial_resolution_A=40.0,
    )
    return sim, peaks, angles[best[tuple(peaks2.T)]], result


def test_template_matching_finds_particles(pipeline):
    sim, peaks, rot, _ = pipeline
    precision, recall = sta.precision_recall(peaks, sim.positions, tolerance=3.0)
    assert precision >= 0.9 and recall >= 0.9
    # the best template rotation is within the search step (30 deg) for most particles
    j = np.linalg.norm(peaks[:, None] - sim.positions[None], axis=-1).argmin(axis=1)
    err = sta.rotation_angle_between(rot, sim.rotations[j])
    assert np.median(err) < 30.0


def test_refinement_resolution(pipeline, ref):
    sim, peaks, _, result = pipeline
    f, gold = result.fsc_history[-1]
    res_gold = sta.resolution_at(f, gold, 0.143)
    f, truth = sta.fsc(result.average, ref, voxel_size=VOXEL)
    res_truth = sta.resolution_at(f, truth, 0.5)
    assert res_gold < 3 * VOXEL and res_truth < 3 * VOXEL, (res_gold, res_truth)
    # refinement improved on the template-matching poses
    f0, gold0 = result.fsc_history[0]
    assert res_gold < sta.resolution_at(f0, gold0, 0.143)
    # recovered poses agree with the truth
    j = np.linalg.norm(peaks[:, None] - sim.positions[None], axis=-1).argmin(axis=1)
    err = sta.rotation_angle_between(result.poses.rotations, sim.rotations[j])
    assert np.median(err) < 8.0
    shift_err = np.linalg.norm(np.rint(peaks) + result.poses.shifts - sim.positions[j], axis=1)
    assert np.median(shift_err) < 0.5
    assert len(result.history) == 4
    assert len(result.pose_history) == 4
    assert np.array_equal(result.pose_history[-1].rotations, result.poses.rotations)
    assert np.allclose(result.pose_history[0].shifts, peaks - np.rint(peaks))


def test_resample_keeps_centre_of_mass_and_physical_volume():
    from scipy import ndimage

    vol = sta.phantom_map(box=20, voxel_size=11.4, diameter=140.0)
    out = sta.resample(vol, voxel_size=11.4, new_voxel_size=10.0, box=32)
    assert out.shape == (32, 32, 32) and out.dtype == np.float32
    # the density's centre of mass stays put (in angstrom, relative to the box centre)
    com_in = (np.array(ndimage.center_of_mass(vol)) - 10) * 11.4
    com_out = (np.array(ndimage.center_of_mass(np.clip(out, 0, None))) - 16) * 10.0
    np.testing.assert_allclose(com_out, com_in, atol=2.0)
    # same physical volume above a fifth of the maximum, within 10 %
    v_in = (vol > 0.2).sum() * 11.4**3
    v_out = (out > 0.2).sum() * 10.0**3
    assert v_out == pytest.approx(v_in, rel=0.1)


def test_subtract_radial_average_keeps_only_the_shape():
    z, y, x = np.indices((16, 16, 16)) - 8
    ball = np.exp(-(z**2 + y**2 + x**2) / 10.0)
    assert np.abs(sta.subtract_radial_average(ball)).max() < 0.1  # sampling error only
    lump = ball + np.exp(-((z - 4) ** 2 + y**2 + x**2) / 2.0)
    rest = sta.subtract_radial_average(lump)
    assert rest[12, 8, 8] > 0.5 and rest[4, 8, 8] < 0  # the lump, not its mirror image


def test_average_simulated_takes_the_lesson_steps():
    ref = sta.prepare_reference(
        sta.phantom_map(box=20, voxel_size=11.4, diameter=137.0), voxel_size=11.4
    )
    run = sta.average_simulated(ref, shape=(48, 128, 128), n_particles=12, iterations=1)
    assert run.subtomos.shape == (12, 32, 32, 32)
    np.testing.assert_array_equal(run.centres, np.rint(run.simulation.positions))
    assert len(run.global_poses) == 12 and len(run.result.history) == 2
    assert sorted(np.concatenate(run.result.halves).tolist()) == list(range(12))
