"""Archive data for the course: the one package that touches the network or the cache.

Where data come from, in order:

1. the cache: ``EMCOURSE_DATA_DIR`` (default ``pooch.os_cache("emcourse")``).
   When it is read-only (a hub's shared folder) every file in it is used and
   anything missing goes to a per-user cache, with a one-line explanation;
2. a mirror: ``EMCOURSE_MIRROR``, a base URL with paths
   ``<mirror>/<archive host>/<archive path>``;
3. the archive itself;
4. the deterministic synthetic stand-in, announced once with the reason and
   the command that gets the real data.

``EMCOURSE_OFFLINE=1`` never touches the network. The cache is laid out like
the mirror (``<cache>/<archive host>/<archive path>``), so ``emcourse data
mirror DIR`` is a copy. Downloads land in a temporary file next to the target
(pooch) and are moved into place only after they check out: by a pinned
sha256, or by format (the dataset kind's check: MRC header against file
size, expected shape and voxel size, readable zarr). The sha256 of an
unpinned file is recorded on first download in ``<file>.sha256``, so
``emcourse data verify`` catches later corruption. Files are moved into place
(and copied into a mirror) readable by all, ``0o666 & ~umask``, so a hub's
shared cache and a mirror served by another user work; a cached file this
user cannot read is skipped with a note.

Modules, one job each: :mod:`~emcourse.data.registry` (``registry.toml``),
:mod:`~emcourse.data.cache` (folders, permissions, sha256 sidecars),
:mod:`~emcourse.data.tiers` (cache -> mirror -> archive for one file),
:mod:`~emcourse.data.partial` (OME-Zarr levels, MRC slabs by HTTP Range),
:mod:`~emcourse.data.kinds` (what each kind of dataset is: check, open,
stand-in), :mod:`~emcourse.data.core` (load, fetch), :mod:`~emcourse.data.maintenance`
(verify, mirror, pin), :mod:`~emcourse.data.provenance` (which data a page
ran on: the records behind its banner) and :mod:`~emcourse.data.messages`
(errors, advice, notes).
"""

from emcourse.data.cache import cache_dir
from emcourse.data.core import emdb_map, empiar_file, fetch, is_cached, load
from emcourse.data.maintenance import mirror, mirror_missing, pin, verify
from emcourse.data.messages import DataUnavailableError, UnknownDatasetError
from emcourse.data.partial import mrc_slab
from emcourse.data.provenance import banner, loaded
from emcourse.data.registry import EMDB_MAP_URL, EMPIAR_URL, registry, registry_markdown
from emcourse.data.tiers import bytes_downloaded

__all__ = [
    "EMDB_MAP_URL",
    "EMPIAR_URL",
    "DataUnavailableError",
    "UnknownDatasetError",
    "banner",
    "bytes_downloaded",
    "cache_dir",
    "emdb_map",
    "empiar_file",
    "fetch",
    "is_cached",
    "load",
    "loaded",
    "mirror",
    "mirror_missing",
    "mrc_slab",
    "pin",
    "registry",
    "registry_markdown",
    "verify",
]
