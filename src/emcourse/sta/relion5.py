"""Stand-ins for RELION 5 tomography tables: particles and tomograms (pure tables).

The real tables are the RELION 5 subtomogram-averaging tutorial's output for
EMPIAR-10164. These stand-ins have the same blocks and the columns lessons use,
in the same units: particles with centred coordinates in angstrom
(``rlnCenteredCoordinate{X,Y,Z}Angst``) and ZYZ angles in degrees; the
tomograms table with the optics and the tomogram size in unbinned pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOMOGRAMS", "standin_particles_star", "standin_tomograms_star"]

TOMOGRAMS = ("TS_01", "TS_03", "TS_43", "TS_45", "TS_54")


def standin_tomograms_star(names=TOMOGRAMS) -> dict:
    """The ``global`` block of a RELION 5 tomograms table for ``names``.

    Examples
    --------
    >>> standin_tomograms_star()["global"]["rlnTomoSizeX"].tolist()
    [4000, 4000, 4000, 4000, 4000]
    """
    import pandas as pd

    n = len(names)
    table = pd.DataFrame(
        {
            "rlnTomoName": list(names),
            "rlnVoltage": np.full(n, 300.0),
            "rlnSphericalAberration": np.full(n, 2.7),
            "rlnAmplitudeContrast": np.full(n, 0.1),
            "rlnMicrographOriginalPixelSize": np.full(n, 0.675),
            "rlnTomoHand": np.full(n, -1.0),
            "rlnOpticsGroupName": ["optics1"] * n,
            "rlnTomoTiltSeriesPixelSize": np.full(n, 1.35),
            "rlnTomoTiltSeriesStarFile": [f"tilt_series/{t}.star" for t in names],
            "rlnTomoTomogramBinning": np.full(n, 7.407407),
            "rlnTomoSizeX": np.full(n, 4000),
            "rlnTomoSizeY": np.full(n, 4000),
            "rlnTomoSizeZ": np.full(n, 2000),
        }
    )
    return {"global": table}


def standin_particles_star(n: int = 9053, *, seed: int = 0) -> dict:
    """The ``general``, ``optics`` and ``particles`` blocks of a RELION 5 particle file.

    ``n`` particles spread over the five tomograms, centred coordinates within
    +-2,700 A in x and y and +-1,100 A in z, uniformly random orientations,
    random half-sets 1 and 2.

    Examples
    --------
    >>> b = standin_particles_star(10)
    >>> sorted(b), len(b["particles"]), float(b["optics"]["rlnTomoTiltSeriesPixelSize"][0])
    (['general', 'optics', 'particles'], 10, 1.35)
    """
    import pandas as pd

    from emcourse.sta.rotations import matrix_to_euler, random_rotations

    rng = np.random.default_rng(seed)
    eulers = matrix_to_euler(random_rotations(n, seed=rng))
    names = np.asarray(TOMOGRAMS)[rng.integers(0, len(TOMOGRAMS), n)]
    optics = pd.DataFrame(
        {
            "rlnVoltage": [300.0],
            "rlnSphericalAberration": [2.7],
            "rlnAmplitudeContrast": [0.1],
            "rlnTomoTiltSeriesPixelSize": [1.35],
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["optics1"],
            "rlnImageDimensionality": [2],
            "rlnImagePixelSize": [1.35],
            "rlnImageSize": [192],
        }
    )
    particles = pd.DataFrame(
        {
            "rlnTomoName": names,
            "rlnAngleRot": eulers[:, 0],
            "rlnAngleTilt": eulers[:, 1],
            "rlnAnglePsi": eulers[:, 2],
            "rlnOpticsGroup": np.ones(n, dtype=np.int64),
            "rlnTomoParticleName": [f"{t}/{i + 1}" for i, t in enumerate(names)],
            "rlnCenteredCoordinateXAngst": rng.uniform(-2700.0, 2700.0, n),
            "rlnCenteredCoordinateYAngst": rng.uniform(-2700.0, 2700.0, n),
            "rlnCenteredCoordinateZAngst": rng.uniform(-1100.0, 1100.0, n),
            "rlnRandomSubset": rng.integers(1, 3, n),
        }
    )
    return {"general": {"rlnTomoSubTomosAre2DStacks": 1}, "optics": optics, "particles": particles}
