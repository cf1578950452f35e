"""Keep the books' shared execution cache honest: empty it when what lessons run on changes.

Both editions are built with ``execute_notebooks: cache`` and one
``execution_cache_path`` (``_config.yml``), so a lesson executed for the course
book is reused by the student book. jupyter-cache keys an entry by the
notebook's code cells (and their metadata) only: a changed cell is executed
again, but a change in the package the lessons import, in the installed
packages, or in where data come from would not be seen, and a book would show
outputs (or hide a failure) of code that no longer exists. ``make book`` and
``make book-student`` run this script first: it hashes those inputs and empties
the cache when the hash differs from the one stored with it.

CI builds from a clean clone, so its cache starts empty; the student build
then reuses the lessons the course build has just executed.

Usage: ``python tools/book_cache.py CACHE_DIR``
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY_NAME = "emcourse-inputs.sha256"
# What decides a lesson's outputs besides its own cells.
ENV_VARS = ("EMCOURSE_OFFLINE", "EMCOURSE_MIRROR", "EMCOURSE_DATA_DIR", "EMCOURSE_STATIC")
SOURCES = ("src", "pyproject.toml")


def _files(root: Path) -> list[Path]:
    found = []
    for name in SOURCES:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            ]
    return sorted(found)


def _data_files() -> list[str]:
    """Name and size of every file in the data cache: a newly fetched real file changes
    what a lesson shows (real data instead of its stand-in)."""
    try:
        from emcourse.data import cache

        folders = cache.read_dirs()
    except Exception:  # the package is broken: its own build will say why
        return []
    return sorted(
        f"{p.relative_to(folder)} {p.stat().st_size}"
        for folder in folders
        if folder.is_dir()
        for p in folder.rglob("*")
        if p.is_file()
    )


def inputs_key(root: Path = ROOT) -> str:
    """A hash of everything outside a notebook's cells that its outputs depend on."""
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(sys.version.encode() + b"\0")
    installed = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata
    )
    digest.update("\n".join(installed).encode() + b"\0")
    for var in ENV_VARS:
        digest.update(f"{var}={os.environ.get(var, '')}".encode() + b"\0")
    digest.update("\n".join(_data_files()).encode())
    return digest.hexdigest()


def refresh(cache_dir: Path, key: str) -> bool:
    """Empty ``cache_dir`` unless it was filled under ``key``; True when it was emptied."""
    stored = cache_dir / KEY_NAME
    if stored.is_file() and stored.read_text().strip() == key:
        return False
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    stored.write_text(key + "\n")
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    cache_dir = Path(argv[0])
    if refresh(cache_dir, inputs_key()):
        print(f"{cache_dir}: new execution cache (package, environment or data changed)")
    else:
        print(f"{cache_dir}: reusing executed lessons (package, environment and data unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
