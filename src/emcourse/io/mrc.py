"""MRC/CCP4 maps, as EMDB and EMPIAR ship them (plain or gzip).

Strict like ``mrcfile``: a file that is not what it claims to be raises
``ValueError`` naming the file, what was expected and what was found. Arrays
are indexed ``(z, y, x)``; voxel sizes and origins are in angstrom.
"""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from emcourse.io.arrays import as_float
from emcourse.volume import Source, Volume

__all__ = [
    "FEI_FIELDS",
    "HEADER_BYTES",
    "parse_mrc_header",
    "read_fei_extended_header",
    "read_mrc",
    "read_mrc_header",
    "write_mrc",
]

HEADER_BYTES = 1024
FEI_RECORD_BYTES = 128  # one record of 32 float32 per image, room for 1024 images
_FEI_LABEL = b"Fei Company"
# the named float32 fields at the start of each FEI record (the rest is unused)
FEI_FIELDS = (
    "a_tilt",  # degrees, the stage tilt
    "b_tilt",
    "x_stage",
    "y_stage",
    "z_stage",
    "x_shift",
    "y_shift",
    "defocus",
    "exp_time",
    "mean_int",
    "tilt_axis",  # degrees
    "pixel_size",
    "magnification",
)

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
        When ``raw`` is not an MRC header, or its fields are impossible: a mode
        outside the table, dimensions not positive, MAPC/MAPR/MAPS not a
        permutation, a negative NSYMBT, a voxel size (CELLA over MX/MY/MZ) that
        is 0, negative or NaN, a NaN ORIGIN. The message names the field.
    """
    import mrcfile

    if len(raw) < HEADER_BYTES:
        raise ValueError(
            f"{name}: not an MRC map: the header needs {HEADER_BYTES} bytes, "
            f"the file has {len(raw)}."
        )
    legacy_fei = raw[208:212] != b"MAP " and _FEI_LABEL in raw[224:304]
    if raw[208:212] != b"MAP " and not legacy_fei:
        raise ValueError(
            f"{name}: not an MRC/CCP4 map: expected the text 'MAP ' at byte 208 of the "
            f"header (or an FEI stack's label), found {raw[208:212]!r}."
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
    if legacy_fei and (nsymbt % FEI_RECORD_BYTES or nsymbt < FEI_RECORD_BYTES * nz):
        raise ValueError(
            f"{name}: corrupt FEI MRC stack: NSYMBT (extended header bytes) is {nsymbt}; "
            f"an FEI extended header holds one {FEI_RECORD_BYTES}-byte record per image, so "
            f"expected a multiple of {FEI_RECORD_BYTES} of at least "
            f"{FEI_RECORD_BYTES * nz} for NZ = {nz}."
        )
    cell = hdr["cella"]
    msize = [int(hdr[k]) for k in ("mx", "my", "mz")]
    voxel = []
    for a, m in zip(("x", "y", "z"), msize, strict=True):
        c = float(cell[a])
        v = c / m if m > 0 else float("nan")
        if not (np.isfinite(v) and v > 0):
            raise ValueError(
                f"{name}: corrupt MRC header: CELLA.{a} = {c:g} over M{a.upper()} = {m} gives "
                f"a voxel size of {v:g} A along {a}; expected a positive, finite voxel size. "
                "Set it with mrcfile (`mrc.voxel_size = ...`) if the file is yours."
            )
        voxel.append(v)
    voxel = tuple(voxel)
    origin = tuple(float(hdr["origin"][a]) for a in ("x", "y", "z"))
    if not all(np.isfinite(origin)):
        raise ValueError(
            f"{name}: corrupt MRC header: ORIGIN is {origin}; expected finite numbers (angstrom)."
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
        "origin_xyz": origin,
        "data_offset": HEADER_BYTES + nsymbt,
        "data_bytes": nx * ny * nz * dtype.itemsize,
        "extended_header": "FEI (legacy, no map ID)" if legacy_fei else "",
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
        Not an MRC file, or shorter or longer than its header says, naming the
        file, the header fields and the byte counts.
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
    if check_size and total != expected:
        what = "truncated MRC map" if total < expected else "MRC map longer than its header says"
        advice = (
            "The file was cut off: fetch it again."
            if total < expected
            else "Either the header (NX/NY/NZ, MODE or NSYMBT) or the file is damaged."
        )
        raise ValueError(
            f"{path}: {what}: the header (NX x NY x NZ = {header['nx']}x{header['ny']}x"
            f"{header['nz']}, MODE {header['mode']}: {header['dtype'].itemsize}-byte values, "
            f"NSYMBT {header['nsymbt']}) promises {expected:,} bytes, the file has {total:,}. "
            f"{advice}"
        )
    return header


def read_fei_extended_header(path: str | os.PathLike) -> dict:
    """The per-image records of an FEI MRC stack's extended header, one array per field.

    FEI's tomography software writes, after the 1024-byte header, one
    128-byte record per image (32 little-endian float32; room for 1024
    images): the fields of :data:`FEI_FIELDS`. Fields the software did not
    fill are 0. Such stacks may lack the MRC map ID ('MAP ') and the machine
    stamp; :func:`read_mrc` accepts them when their label says FEI and the
    extended header holds a record for every image.

    Returns
    -------
    dict
        field name -> ``(nz,)`` float64 array, in the stack's image order.

    Raises
    ------
    ValueError
        When the file is not an FEI stack (no FEI label, NSYMBT not a whole
        number of records for every image), naming the file and the field.
    """
    path = Path(path)
    header = read_mrc_header(path)
    nz, nsymbt = header["nz"], header["nsymbt"]
    if nsymbt % FEI_RECORD_BYTES or nsymbt < FEI_RECORD_BYTES * nz:
        raise ValueError(
            f"{path}: no FEI extended header: NSYMBT is {nsymbt}; expected a multiple of "
            f"{FEI_RECORD_BYTES} bytes of at least {FEI_RECORD_BYTES * nz} (one record per "
            f"image, NZ = {nz})."
        )
    with _open_maybe_gzip(path) as fh:
        raw = fh.read(HEADER_BYTES + FEI_RECORD_BYTES * nz)
    if _FEI_LABEL not in raw[224:HEADER_BYTES]:
        raise ValueError(
            f"{path}: no FEI extended header: the header's labels do not name FEI "
            f"(found {raw[224:304].rstrip(bytes(1))!r})."
        )
    records = np.frombuffer(raw[HEADER_BYTES:], dtype="<f4").reshape(nz, 32)
    return {f: records[:, k].astype(np.float64) for k, f in enumerate(FEI_FIELDS)}


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
        When the file is not an MRC map, has an impossible header field (see
        :func:`parse_mrc_header`), or is shorter or longer than its header says.

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
            # a legacy FEI stack has no map ID or machine stamp: our header checks passed
            legacy = bool(header["extended_header"])
            with mrcfile.open(path, mode="r", permissive=legacy) as mrc:
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
