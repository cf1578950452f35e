"""Read and write the file formats of 3D electron microscopy: files in, arrays out.

MRC/CCP4 maps (as EMDB and EMPIAR ship them: :mod:`~emcourse.io.mrc`),
SerialEM ``.mdoc`` tilt-series metadata (:mod:`~emcourse.io.mdoc`), RELION
STAR particle files (:mod:`~emcourse.io.star`) and RELION 5 tilt-series tables
(:mod:`~emcourse.io.relion5`) and cryoET Data Portal point
annotations (:mod:`~emcourse.io.ndjson`), CLEM landmark tables (BigWarp, COSEM:
:mod:`~emcourse.io.landmarks`), transform files (ec-CLEM, elastix, JSON:
:mod:`~emcourse.io.transforms`; elastix's own transformix when installed:
:mod:`~emcourse.io.transformix`), volume-EM TIFF, HDF5 and PNG stacks and the
shipped U-Net's weights (:mod:`~emcourse.io.vem`), OME-Zarr volumes read lazily as dask
arrays (:mod:`~emcourse.io.omezarr`); :func:`as_float` decides dtypes for
all of them (:mod:`~emcourse.io.arrays`). Strict by default, like
``mrcfile``: a file that is not what it claims to be raises ``ValueError``
naming the file, what was expected and what was found. No network (that is
:mod:`emcourse.data`), no science.

Arrays are indexed ``(z, y, x)`` (plane, row, column); voxel sizes and origins
are in angstrom.
"""

from emcourse.io.arrays import as_float
from emcourse.io.ecclem import read_ecclem_xml, write_ecclem_xml
from emcourse.io.landmarks import read_bigwarp_csv, read_cosem_landmarks, write_bigwarp_csv
from emcourse.io.mdoc import read_mdoc
from emcourse.io.mrc import (
    FEI_FIELDS,
    HEADER_BYTES,
    parse_mrc_header,
    read_fei_extended_header,
    read_mrc,
    read_mrc_header,
    write_mrc,
)
from emcourse.io.ndjson import read_ndjson_points
from emcourse.io.omezarr import ome_zarr_metadata, read_ome_zarr, write_ome_zarr
from emcourse.io.relion5 import check_star_rows, read_tilt_series_star
from emcourse.io.relion5_export import (
    centred_angstrom,
    relion5_voxels,
    write_relion5_particles,
    write_relion5_tomograms,
)
from emcourse.io.star import read_particles_star, read_star, write_particles_star
from emcourse.io.tiltfiles import read_fei_tomography_log, read_rawtlt
from emcourse.io.transformix import have_transformix, transformix_image, transformix_points
from emcourse.io.transforms import (
    elastix_affine_matrix,
    elastix_bspline_grid,
    elastix_steps,
    read_elastix_parameters,
    read_transform_json,
    write_transform_json,
)
from emcourse.io.vem import (
    read_h5_stack,
    read_png_stack,
    read_shipped_unet,
    read_tiff_volume,
    read_tiff_zip,
    read_unet_weights,
)

__all__ = [
    "read_h5_stack",
    "read_png_stack",
    "read_shipped_unet",
    "read_unet_weights",
    "read_tiff_volume",
    "read_tiff_zip",
    "HEADER_BYTES",
    "as_float",
    "elastix_affine_matrix",
    "elastix_bspline_grid",
    "elastix_steps",
    "have_transformix",
    "transformix_image",
    "transformix_points",
    "read_bigwarp_csv",
    "read_cosem_landmarks",
    "read_ecclem_xml",
    "read_elastix_parameters",
    "read_transform_json",
    "write_bigwarp_csv",
    "write_ecclem_xml",
    "write_transform_json",
    "parse_mrc_header",
    "read_fei_extended_header",
    "read_fei_tomography_log",
    "read_rawtlt",
    "FEI_FIELDS",
    "read_mdoc",
    "read_mrc",
    "read_mrc_header",
    "read_ndjson_points",
    "ome_zarr_metadata",
    "read_ome_zarr",
    "write_ome_zarr",
    "read_particles_star",
    "read_star",
    "read_tilt_series_star",
    "check_star_rows",
    "write_mrc",
    "write_particles_star",
    "centred_angstrom",
    "relion5_voxels",
    "write_relion5_particles",
    "write_relion5_tomograms",
]
