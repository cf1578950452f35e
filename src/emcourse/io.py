"""Read and write the file formats of 3D electron microscopy.

MRC/CCP4 maps (as EMDB and EMPIAR ship them), SerialEM ``.mdoc`` tilt-series
metadata and RELION 5 STAR particle files. Strict by default, like
``mrcfile``: a file that is not what it claims to be raises ``ValueError``
naming the file, what was expected and what was found.

Arrays are indexed ``(z, y, x)`` (plane, row, column); voxel sizes and origins
are in angstrom.
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
import zlib
from pathlib import Path

import numpy as np

from emcourse.volume import Source, Volume

__all__ = [
    "as_float",
    "read_mrc",
    "read_mrc_header",
    "parse_mrc_header",
    "write_mrc",
    "read_mdoc",
    "write_particles_star",
    "read_particles_star",
]

HEADER_BYTES = 1024

# MRC mode -> dtype of one stored value (4-bit mode 101 is not supported).
_MODE_DTYPES = {
    0: np.int8,
    1: np.int16,
    2: np.float32,
    3: np.dtype([("re", np.int16), ("im", np.int16)]),
    4: np.complex64,
    6: np.uint16,
    12: np.float16,
}


def as_float(data: np.ndarray) -> np.ndarray:
    """Return ``data`` as a floating-point array without rescaling it.

    The one place the package decides dtypes: float32 and float64 are kept as
    they are, integers (and float16) become float32. Values are never
    rescaled, so densities keep their meaning.

    Parameters
    ----------
    data : array_like
        Any real or complex array.

    Returns
    -------
    ndarray
        ``data`` itself when it already is float32/float64/complex, else a
        float32 copy.

    Examples
    --------
    >>> as_float(np.array([0, 200], dtype=np.uint8))
    array([  0., 200.], dtype=float32)
    >>> as_float(np.zeros(2)).dtype
    dtype('float64')
    """
    data = np.asarray(data)
    if data.dtype in (np.float32, np.float64) or np.iscomplexobj(data):
        return data
    if data.dtype.kind in "iub" or data.dtype == np.float16:
        return data.astype(np.float32)
    raise TypeError(f"cannot convert an array of dtype {data.dtype} to floating point")


# --------------------------------------------------------------------------- MRC


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def parse_mrc_header(raw: bytes, *, name: str = "<bytes>") -> dict:
    """Decode the 1024-byte MRC/CCP4 header into a plain dictionary.

    Parameters
    ----------
    raw : bytes
        At least the first 1024 bytes of an (uncompressed) MRC file.
    name : str
        File name used in error messages.

    Returns
    -------
    dict
        ``nx, ny, nz`` (columns, rows, sections), ``mode``, ``dtype`` (numpy,
        with byte order), ``nsymbt`` (extended header bytes), ``mapcrs``,
        ``nstart`` (column, row, section), ``voxel_size_xyz``, ``origin_xyz``,
        ``data_offset`` and ``data_bytes``.

    Raises
    ------
    ValueError
        When ``raw`` is not an MRC header.
    """
    import mrcfile

    if len(raw) < HEADER_BYTES:
        raise ValueError(
            f"{name}: not an MRC map: the header needs {HEADER_BYTES} bytes, "
            f"the file has {len(raw)}."
        )
    if raw[208:212] != b"MAP ":
        raise ValueError(
            f"{name}: not an MRC/CCP4 map: expected the text 'MAP ' at byte 208 of the "
            f"header, found {raw[208:212]!r}."
        )
    hdr = None
    for order in ("<", ">"):
        dtype = mrcfile.dtypes.HEADER_DTYPE.newbyteorder(order)
        h = np.frombuffer(raw[:HEADER_BYTES], dtype=dtype)[0]
        if int(h["mode"]) in _MODE_DTYPES and 0 < int(h["nx"]) < 2**24:
            hdr, byteorder = h, order
            break
    if hdr is None:
        h = np.frombuffer(raw[:HEADER_BYTES], dtype=mrcfile.dtypes.HEADER_DTYPE)[0]
        raise ValueError(
            f"{name}: unsupported or corrupt MRC header: expected a mode in "
            f"{sorted(_MODE_DTYPES)} and positive dimensions, found mode {int(h['mode'])} "
            f"and nx={int(h['nx'])}."
        )
    nx, ny, nz = (int(hdr[k]) for k in ("nx", "ny", "nz"))
    if min(nx, ny, nz) <= 0:
        raise ValueError(f"{name}: corrupt MRC header: dimensions {nx}x{ny}x{nz}.")
    mapcrs = tuple(int(hdr[k]) for k in ("mapc", "mapr", "maps"))
    if sorted(mapcrs) != [1, 2, 3]:
        raise ValueError(
            f"{name}: corrupt MRC header: MAPC/MAPR/MAPS must be a permutation of 1,2,3, "
            f"found {mapcrs}."
        )
    dtype = np.dtype(_MODE_DTYPES[int(hdr["mode"])]).newbyteorder(byteorder)
    nsymbt = int(hdr["nsymbt"])
    if nsymbt < 0:
        raise ValueError(f"{name}: corrupt MRC header: extended header size {nsymbt}.")
    cell = hdr["cella"]
    msize = [int(hdr[k]) for k in ("mx", "my", "mz")]
    voxel = tuple(
        float(cell[a]) / m if m > 0 else 0.0 for a, m in zip(("x", "y", "z"), msize, strict=True)
    )
    return {
        "nx": nx,
        "ny": ny,
        "nz": nz,
        "mode": int(hdr["mode"]),
        "dtype": dtype,
        "nsymbt": nsymbt,
        "mapcrs": mapcrs,
        "nstart": tuple(int(hdr[k]) for k in ("nxstart", "nystart", "nzstart")),
        "voxel_size_xyz": voxel,
        "origin_xyz": tuple(float(hdr["origin"][a]) for a in ("x", "y", "z")),
        "data_offset": HEADER_BYTES + nsymbt,
        "data_bytes": nx * ny * nz * dtype.itemsize,
    }


def read_mrc_header(path: str | os.PathLike, *, check_size: bool = True) -> dict:
    """Read and check the header of an MRC file (plain or gzip).

    Parameters
    ----------
    path : path-like
        The file.
    check_size : bool
        Also check that the file (after gunzip) holds as many bytes as the
        header promises. This reads a gzip file through once.

    Returns
    -------
    dict
        As :func:`parse_mrc_header`, plus ``file_bytes``.

    Raises
    ------
    ValueError
        Not an MRC file, or truncated, naming the file and the byte counts.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as fh:
            raw = fh.read(HEADER_BYTES)
            header = parse_mrc_header(raw, name=str(path))
            total = len(raw)
            if check_size:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(
            f"{path}: could not be read as an MRC map (gzip stream broken or truncated?): {exc}"
        ) from exc
    expected = header["data_offset"] + header["data_bytes"]
    header["file_bytes"] = total
    if check_size and total < expected:
        raise ValueError(
            f"{path}: truncated MRC map: the header promises {expected:,} bytes "
            f"({header['nx']}x{header['ny']}x{header['nz']} values of {header['dtype'].itemsize} "
            f"bytes after a {header['data_offset']}-byte header), the file has {total:,}."
        )
    return header


def _zyx_axes(mapcrs: tuple[int, int, int]) -> tuple[int, int, int]:
    """Data-array axes holding Z, Y, X for a MAPC/MAPR/MAPS triple."""
    # mrcfile data are (section, row, column): axis 0 = MAPS, 1 = MAPR, 2 = MAPC.
    axis_of = {mapcrs[2]: 0, mapcrs[1]: 1, mapcrs[0]: 2}
    return axis_of[3], axis_of[2], axis_of[1]


def read_mrc(path: str | os.PathLike) -> Volume:
    """Read an MRC/CCP4 map (optionally gzip-compressed) into a :class:`Volume`.

    Axis orders other than MAPC/MAPR/MAPS = 1,2,3 are reordered so the array is
    ``(z, y, x)``; extended headers and symmetry records are skipped. The
    origin is the header's ORIGIN field when it is non-zero, else NSTART times
    the voxel size (as ChimeraX does). Integer data become float32, floats are
    kept (:func:`as_float`); nothing is rescaled.

    Parameters
    ----------
    path : path-like
        ``.mrc``, ``.map``, ``.rec``, ``.ccp4`` or any of these gzipped.

    Returns
    -------
    Volume
        ``voxel_size`` is a float when the three axes agree, else a ``(z, y, x)``
        tuple; ``source.accession`` is the file name.

    Raises
    ------
    ValueError
        When the file is not an MRC map, or is truncated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "blob.mrc"
    >>> write_mrc(p, np.ones((4, 5, 6)), voxel_size=2.5)
    >>> vol = read_mrc(p)
    >>> vol.shape, vol.voxel_size, vol.data.dtype
    ((4, 5, 6), 2.5, dtype('float32'))
    """
    import mrcfile

    path = Path(path)
    header = read_mrc_header(path, check_size=True)
    try:
        with warnings.catch_warnings():
            # size and header checks are ours (above); mrcfile's warnings repeat them
            warnings.simplefilter("ignore", RuntimeWarning)
            with mrcfile.open(path, mode="r", permissive=False) as mrc:
                data = np.array(mrc.data)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a readable MRC map: {exc}") from exc
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.dtype.names:  # mode 3, complex int16
        data = data["re"].astype(np.float32) + 1j * data["im"].astype(np.float32)
    zax, yax, xax = _zyx_axes(header["mapcrs"])
    data = np.ascontiguousarray(np.transpose(data, (zax, yax, xax)))
    data = as_float(data)
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    vx, vy, vz = (round(v, 5) for v in header["voxel_size_xyz"])
    voxel_zyx = (vz, vy, vx)
    # NSTART is given per column/row/section: find which belongs to X, Y, Z.
    start_of = dict(zip(header["mapcrs"], header["nstart"], strict=True))
    if any(header["origin_xyz"]):
        ox, oy, oz = header["origin_xyz"]
        origin = (oz, oy, ox)
    else:
        origin = tuple(float(start_of[ax] * v) for ax, v in zip((3, 2, 1), voxel_zyx, strict=True))
    voxel_size = vx if vx == vy == vz else voxel_zyx
    source = Source(accession=path.name, licence="unknown", url=str(path), note="read from file")
    return Volume(data=data, voxel_size=voxel_size, source=source, origin=origin)


def write_mrc(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    voxel_size: float | tuple[float, float, float],
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> None:
    """Write a ``(z, y, x)`` array as a float32 MRC file (gzip if the name ends in ``.gz``).

    Parameters
    ----------
    path : path-like
        Output file; overwritten if it exists.
    data : ndarray
        2D or 3D array indexed ``(z, y, x)``; stored as float32 without rescaling.
    voxel_size : float or tuple of float
        Angstrom per voxel, or a ``(z, y, x)`` tuple.
    origin : tuple of float
        Position of voxel ``(0, 0, 0)`` in angstrom, ``(z, y, x)``.
    """
    import mrcfile

    path = Path(path)
    vs = np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,))
    compression = "gzip" if path.suffix == ".gz" else None
    with mrcfile.new(path, overwrite=True, compression=compression) as mrc:
        mrc.set_data(np.asarray(data, dtype=np.float32))
        mrc.voxel_size = (vs[2], vs[1], vs[0])
        mrc.header.origin = (origin[2], origin[1], origin[0])


# -------------------------------------------------------------------------- mdoc

_SECTION_RE = re.compile(r"^\[\s*(\w+)\s*=\s*(.*?)\s*\]$")


def _mdoc_value(text: str):
    parts = text.split()
    if not parts:
        return ""
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            return text.strip()
    return nums[0] if len(nums) == 1 else nums


def read_mdoc(path_or_text: str | os.PathLike) -> list[dict]:
    """Read SerialEM ``.mdoc`` metadata: one dictionary per image of the stack.

    Parameters
    ----------
    path_or_text : path-like or str
        A file, or the mdoc text itself (any string with a line break).

    Returns
    -------
    list of dict
        One per ``[ZValue = N]`` section, in file order. Each holds the
        section's keys (``ZValue``, ``TiltAngle`` in degrees, ``ExposureDose``
        in e/A^2, ``Defocus`` in micrometre (SerialEM: negative is
        underfocus for ``TargetDefocus``), ``PixelSpacing`` in angstrom,
        ``DateTime`` as text, ...) on top of the file's global keys, with the
        ``[T = ...]`` title lines as ``Titles``. Numbers become int or float;
        several numbers become a list.

    Raises
    ------
    ValueError
        When the text has no ``[ZValue = N]`` section.

    Examples
    --------
    >>> text = "PixelSpacing = 5.4\\n[ZValue = 0]\\nTiltAngle = 0.0\\n"
    >>> text += "[ZValue = 1]\\nTiltAngle = 3.0\\n"
    >>> [s["TiltAngle"] for s in read_mdoc(text)]
    [0.0, 3.0]
    >>> read_mdoc(text)[1]["PixelSpacing"]
    5.4
    """
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        text, name = path_or_text, "<mdoc text>"
    else:
        name = str(path_or_text)
        text = Path(path_or_text).read_text(encoding="utf-8", errors="replace")
    global_keys: dict = {}
    titles: list[str] = []
    sections: list[dict] = []
    current = global_keys
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        m = _SECTION_RE.match(line)
        if m:
            key, value = m.groups()
            if key == "T":
                titles.append(value)
                continue
            current = {key: _mdoc_value(value)}
            sections.append(current)
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            current[key.strip()] = _mdoc_value(value)
    if titles:
        global_keys["Titles"] = titles
    frames = [s for s in sections if "ZValue" in s]
    if not frames:
        raise ValueError(
            f"{name}: not a SerialEM mdoc: expected '[ZValue = N]' sections, found none."
        )
    return [{**global_keys, **s} for s in frames]


# -------------------------------------------------------------------------- STAR


def write_particles_star(
    path: str | os.PathLike,
    positions_zyx: np.ndarray,
    eulers_deg: np.ndarray | None = None,
    *,
    voxel_size: float,
    tomo_name: str | list[str],
    tomo_shape: tuple[int, int, int] | None = None,
    voltage: float = 300.0,
    spherical_aberration: float = 2.7,
    amplitude_contrast: float = 0.1,
) -> None:
    """Write particle positions and orientations as a RELION 5 tomography STAR file.

    Two blocks, as RELION 5 writes them: ``data_optics`` (one optics group,
    with ``rlnTomoTiltSeriesPixelSize``) and ``data_particles`` with
    ``rlnTomoName``, ``rlnCoordinateX/Y/Z`` (pixels of the tomogram),
    ``rlnAngleRot/Tilt/Psi`` (ZYZ Euler angles in degrees) and
    ``rlnOpticsGroup``. When ``tomo_shape`` is given, RELION 5's centred
    coordinates ``rlnCenteredCoordinateX/Y/ZAngst`` (angstrom from the
    tomogram centre) are written as well.

    Parameters
    ----------
    path : path-like
        Output ``.star`` file; overwritten.
    positions_zyx : ndarray, shape (n, 3)
        Particle centres in voxels, ``(z, y, x)`` order.
    eulers_deg : ndarray, shape (n, 3), optional
        ``(rot, tilt, psi)`` in degrees, RELION's ZYZ convention; zeros if omitted.
    voxel_size : float
        Angstrom per tomogram voxel (the coordinates' pixel size).
    tomo_name : str or list of str
        ``rlnTomoName`` for all particles, or one per particle.
    tomo_shape : tuple of int, optional
        ``(z, y, x)`` shape of the tomogram, for the centred coordinates.
    voltage, spherical_aberration, amplitude_contrast : float
        Optics group values (kV, mm, fraction).
    """
    import pandas as pd
    import starfile

    pos = np.asarray(positions_zyx, dtype=float).reshape(-1, 3)
    n = len(pos)
    eul = np.zeros((n, 3)) if eulers_deg is None else np.asarray(eulers_deg, float).reshape(-1, 3)
    if len(eul) != n:
        raise ValueError(f"{n} positions but {len(eul)} Euler-angle triples; expected equal.")
    names = [tomo_name] * n if isinstance(tomo_name, str) else list(tomo_name)
    if len(names) != n:
        raise ValueError(f"{n} positions but {len(names)} tomogram names.")
    optics = pd.DataFrame(
        {
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["opticsGroup1"],
            "rlnVoltage": [float(voltage)],
            "rlnSphericalAberration": [float(spherical_aberration)],
            "rlnAmplitudeContrast": [float(amplitude_contrast)],
            "rlnTomoTiltSeriesPixelSize": [float(voxel_size)],
        }
    )
    particles = {
        "rlnTomoName": names,
        "rlnCoordinateX": pos[:, 2],
        "rlnCoordinateY": pos[:, 1],
        "rlnCoordinateZ": pos[:, 0],
    }
    if tomo_shape is not None:
        centre = (np.asarray(tomo_shape, dtype=float) / 2.0)[::-1]  # x, y, z
        for i, ax in enumerate("XYZ"):
            particles[f"rlnCenteredCoordinate{ax}Angst"] = (pos[:, 2 - i] - centre[i]) * voxel_size
    particles.update(
        {
            "rlnAngleRot": eul[:, 0],
            "rlnAngleTilt": eul[:, 1],
            "rlnAnglePsi": eul[:, 2],
            "rlnOpticsGroup": np.ones(n, dtype=int),
        }
    )
    starfile.write(
        {"optics": optics, "particles": pd.DataFrame(particles)}, Path(path), overwrite=True
    )


def read_particles_star(
    path: str | os.PathLike, *, tomo_shape: tuple[int, int, int] | None = None
) -> dict:
    """Read a RELION (4 or 5) tomography particle STAR file.

    Parameters
    ----------
    path : path-like
        The ``.star`` file.
    tomo_shape : tuple of int, optional
        ``(z, y, x)`` tomogram shape; needed only when the file has RELION 5's
        centred coordinates in angstrom and no ``rlnCoordinateX/Y/Z``.

    Returns
    -------
    dict
        ``positions`` (n, 3) float ``(z, y, x)`` voxels; ``eulers_deg`` (n, 3)
        ``(rot, tilt, psi)``; ``tomo_names`` (n,) array of str; ``voxel_size``
        (angstrom, from ``rlnTomoTiltSeriesPixelSize`` when present, else None);
        ``particles`` the full table as a DataFrame.

    Raises
    ------
    ValueError
        When the file has no particle table or no usable coordinates.
    """
    import starfile

    path = Path(path)
    blocks = starfile.read(path, always_dict=True)
    if "particles" in blocks:
        df = blocks["particles"]
    else:
        tables = [b for b in blocks.values() if hasattr(b, "columns") and "rlnTomoName" in b]
        if not tables:
            raise ValueError(
                f"{path}: expected a 'data_particles' block with rlnTomoName, "
                f"found blocks {list(blocks)}."
            )
        df = tables[0]
    voxel_size = None
    optics = blocks.get("optics")
    for table in (optics, df):
        if table is not None and "rlnTomoTiltSeriesPixelSize" in table:
            voxel_size = float(table["rlnTomoTiltSeriesPixelSize"].iloc[0])
            break
    if all(f"rlnCoordinate{a}" in df for a in "XYZ"):
        pos = df[["rlnCoordinateZ", "rlnCoordinateY", "rlnCoordinateX"]].to_numpy(float)
    elif all(f"rlnCenteredCoordinate{a}Angst" in df for a in "XYZ"):
        if tomo_shape is None or voxel_size is None:
            raise ValueError(
                f"{path}: the file has only centred coordinates in angstrom; pass "
                "tomo_shape=(z, y, x) (and the file needs rlnTomoTiltSeriesPixelSize) to "
                "turn them into voxels."
            )
        cols = ["rlnCenteredCoordinateZAngst", "rlnCenteredCoordinateYAngst"]
        cols.append("rlnCenteredCoordinateXAngst")
        pos = df[cols].to_numpy(float) / voxel_size + np.asarray(tomo_shape, float) / 2.0
    else:
        raise ValueError(
            f"{path}: expected rlnCoordinateX/Y/Z or rlnCenteredCoordinateX/Y/ZAngst columns, "
            f"found {list(df.columns)}."
        )
    angles = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]
    eul = df[angles].to_numpy(float) if all(a in df for a in angles) else np.zeros((len(df), 3))
    names = df["rlnTomoName"].astype(str).to_numpy() if "rlnTomoName" in df else None
    return {
        "positions": pos,
        "eulers_deg": eul,
        "tomo_names": names,
        "voxel_size": voxel_size,
        "particles": df,
    }
