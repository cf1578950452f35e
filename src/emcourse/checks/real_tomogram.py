"""Checks of the subtomogram-averaging sheet "Pick particles on a real tomogram".

Tasks: :func:`lattice_spheres` (lattice points on a 4x finer grid put on the
tomogram's voxels, ``(z, y, x)`` kept, a sphere per virus-like particle) and
:func:`outward_normals` (unit vectors pointing away from the centre, in
``(z, y, x)``). Questions: :func:`sphere_pick_recall_prediction` (predict,
then run) and :func:`half_set_split_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _run_cases, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "half_set_split_choice",
    "lattice_spheres",
    "outward_normals",
    "sphere_pick_recall_prediction",
]


def _lattice(seed: int, factor: int):
    """Three lattice-covered spheres of distinct radii, points on the finer grid."""
    from emcourse.sta import sphere_picks

    rng = np.random.default_rng(seed)
    centres = np.array([[50.0, 30.0, 40.0], [48.0, 70.0, 95.0], [60.0, 100.0, 30.0]])
    centres += rng.uniform(-2, 2, size=centres.shape)
    radii = np.array([10.5, 11.5, 12.5]) + rng.uniform(-0.3, 0.3, 3)
    pts = np.concatenate(
        [sphere_picks(c, r, spacing=1.7)[0] for c, r in zip(centres, radii, strict=True)]
    )
    pts += rng.normal(scale=0.1, size=pts.shape)
    return pts[rng.permutation(len(pts))] * factor, centres, radii


def _by_radius(answer):
    """The answer in a fixed order: spheres sorted by radius (the order of groups is free)."""
    centres, radii = (np.asarray(a, dtype=float) for a in answer)
    order = np.argsort(radii)
    return centres[order], radii[order]


def lattice_spheres(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(points, grid_factor) -> (centres, radii)``: one sphere per particle.

    ``points`` are lattice positions ``(z, y, x)`` on a grid ``grid_factor``
    times finer than the tomogram; the answer: for each virus-like particle
    (each group of points: neighbours a lattice spacing apart, particles
    farther) the centre ``(z, y, x)`` and radius of the least-squares sphere
    through its points, in the tomogram's voxels, in any order. Tested on
    three spheres, grid factors 4 and 2.

    Sample solution::

        def lattice_spheres(points, grid_factor):
            p = points / grid_factor
            labels = sta.group_points(p, link=2 * sta.lattice_spacing(p))
            fits = [sta.fit_sphere(p[labels == k]) for k in np.unique(labels)]
            return np.array([c for c, _ in fits]), np.array([r for _, r in fits])
    """
    name = "lattice spheres"
    hint = (
        "two steps: put the points on the tomogram's voxels, then split them into one group "
        "per particle and fit a sphere to each group.",
        "divide the points by grid_factor; sta.group_points(points, link=...) with a link of "
        "twice the lattice spacing (sta.lattice_spacing) labels the groups; "
        "sta.fit_sphere(group) returns (centre, radius).",
    )

    def case(seed, factor):
        def run():
            pts, centres, radii = _lattice(seed, factor)
            target = _by_radius((centres, radii))
            wrong = [
                (_by_radius((centres * factor, radii * factor)), "the points are on a grid "
                    "finer than the tomogram's: divide them by grid_factor before fitting, or "
                    "the spheres come out that many times too large."),
                (_by_radius((centres[:, ::-1], radii)), "the centres come out in (x, y, z) "
                    "order; the course's arrays and points are (z, y, x): keep that order."),
                (_by_radius((centres[:, ::-1] * factor, radii * factor)), "the points are on "
                    "a finer grid (divide by grid_factor), and the centres must stay in "
                    "(z, y, x) order."),
            ]  # fmt: skip
            return check_function(
                fn,
                pts.copy(),
                factor,
                name=name,
                expected=(centres, radii),
                measure=_by_radius,
                target=target,
                rtol=0,
                atol=0.15,
                units="voxels",
                what="(centres, radii), sorted by radius",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(0, 4), case(1, 2)],
        "your spheres match the particles' centres and radii on the tomogram's voxels.",
    )


def outward_normals(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(points, centre) -> normals``: unit vectors from ``centre`` to each point.

    Points and centre are ``(z, y, x)``; each normal is the direction from the
    centre to the point, of length 1, in ``(z, y, x)`` order: the orientation
    prior of a subunit on a sphere.

    Sample solution::

        def outward_normals(points, centre):
            d = points - centre
            return d / np.linalg.norm(d, axis=1, keepdims=True)
    """
    name = "outward normals"
    hint = (
        "a normal of a sphere points along the radius: from the centre to the point.",
        "subtract the centre from every point (broadcasting), then divide each row by its "
        "length: np.linalg.norm(..., axis=1, keepdims=True).",
    )

    def case(seed):
        def run():
            rng = np.random.default_rng(seed)
            centre = rng.uniform(20, 60, 3)
            u = rng.normal(size=(40, 3))
            radius = rng.uniform(8, 14)
            pts = centre + radius * u / np.linalg.norm(u, axis=1, keepdims=True)
            d = pts - centre
            n = d / np.linalg.norm(d, axis=1, keepdims=True)
            wrong = [
                (-n, "these point inward, towards the centre: a subunit's prior would be "
                    "upside down. Subtract the centre from the point, not the other way."),
                (d, "these are the right directions but not of length 1: divide each by its "
                    "length."),
                (n[:, ::-1], "these are in (x, y, z) order; keep the (z, y, x) order of the "
                    "points."),
                (-d, "these point inward and are not of length 1."),
            ]  # fmt: skip
            return check_function(
                fn,
                pts.copy(),
                centre.copy(),
                name=name,
                expected=n,
                rtol=0,
                atol=1e-6,
                what="unit normals",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name, [case(0), case(1)], "your normals point outward, have length 1 and keep (z, y, x)."
    )


# ------------------------------------------------------------------ questions


def _ceiling_recall(points, grid_factor: float) -> tuple[float, float, int]:
    from emcourse import sta

    p = np.asarray(points, float) / grid_factor
    spacing = sta.lattice_spacing(p)
    labels = sta.group_points(p, link=2 * spacing)
    picks = [
        sta.sphere_picks(*sta.fit_sphere(p[labels == k]), spacing=spacing)[0]
        for k in np.unique(labels)
    ]
    recall = sta.match_points(np.concatenate(picks), p, tolerance=spacing / 2)[1]
    return float(recall), spacing, len(np.unique(labels))


def sphere_pick_recall_prediction(guess: Any, points, grid_factor: float) -> CheckResult:
    """Predict, then run: the recall of picks spread over the lattice's own spheres.

    The result: fit a sphere to each particle's lattice points, spread picks
    over it at the lattice spacing (:func:`emcourse.sta.sphere_picks`) and
    count the lattice points with a pick within half a spacing
    (:func:`emcourse.sta.match_points`).
    """
    name = "recall of picks on the lattice's own spheres"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    recall, spacing, n = _ceiling_recall(points, grid_factor)
    return prediction(
        name,
        guess,
        recall,
        rtol=0,
        atol=0.1,
        explanation=f"even on the perfect spheres of these {n} particles, picks at the "
        f"lattice spacing ({spacing:.2f} voxels) miss some lattice points by more than half a "
        "spacing: a spiral of points cannot follow a hexagonal lattice's rows, and the "
        "lattice has gaps and bumps that a sphere does not know. Geometric picks are starting "
        "points: alignment moves each onto the nearest subunit, which is why the tolerance "
        "is half a spacing.",
        diagnoses=[
            (
                1.0,
                "a sphere has no lattice on it: picks spread over it fall between lattice "
                "points as often as on them, and the real lattice has gaps.",
            ),
        ],
    )


_HALF_OPTIONS = {
    "a": "Neighbouring subunits are closer than a box: split at random, their boxes share "
    "voxels (and noise) across the halves, and the FSC between the half-maps comes out too "
    "optimistic.",
    "b": "It makes the two halves the same size.",
    "c": "The particles have different radii, so each half must hold whole particles to "
    "average the same curvature.",
    "d": "Random numbers are not reproducible between runs.",
}


def half_set_split_choice(answer: Any) -> CheckResult:
    """Interpretation: why the half-sets of lattice subunits are split by particle."""
    return choice(
        "half-sets split by particle",
        answer,
        options=_HALF_OPTIONS,
        correct="a",
        explanation="the gold standard assumes two independent halves. Subunits of one "
        "lattice sit a spacing apart, much closer than a box is wide: split at random, a box "
        "in one half overlaps boxes in the other, so the same voxels (signal and noise) are "
        "averaged into both half-maps and their FSC rises beyond the true resolution. Whole "
        "particles per half (and touching particles together) keep the boxes apart.",
        why_not={
            "b": "a split by particle makes the halves less even, not more (nine particles "
            "of different sizes cannot be halved exactly).",
            "c": "both halves hold particles of many radii either way; the average is of "
            "the subunit, not of the sphere.",
            "d": "a seeded random split is reproducible; what it cannot give is independence.",
        },
    )


half_set_split_choice.options = _HALF_OPTIONS
