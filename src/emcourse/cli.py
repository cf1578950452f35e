"""The ``emcourse`` command line: data management and exercise generation.

::

    emcourse data list [--markdown]
    emcourse data fetch NAME... | --all
    emcourse data verify
    emcourse data mirror DIR
    emcourse data pin [NAME...]
    emcourse exercises build
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="emcourse", description="Data and exercises of the emcourse 3D EM course."
    )
    top = p.add_subparsers(dest="group", required=True)

    d = top.add_parser("data", help="list, fetch, verify, mirror and pin the course's datasets")
    ds = d.add_subparsers(dest="command", required=True)
    ls = ds.add_parser("list", help="every dataset: archive, accession, size, licence, cached")
    ls.add_argument("--markdown", action="store_true", help="print the book's markdown table")
    f = ds.add_parser("fetch", help="download datasets into the cache (progress bar)")
    f.add_argument("names", nargs="*", metavar="NAME")
    f.add_argument("--all", action="store_true", help="every dataset in the registry")
    ds.add_parser("verify", help="check cached files against their sha256 and format")
    m = ds.add_parser("mirror", help="copy the cache into a mirror folder DIR/<host>/<path>")
    m.add_argument("dir", metavar="DIR")
    pn = ds.add_parser("pin", help="(maintainers, online) write sha256 pins into registry.toml")
    pn.add_argument("names", nargs="*", metavar="NAME")

    e = top.add_parser("exercises", help="generate exercises/ from solutions/")
    es = e.add_subparsers(dest="command", required=True)
    es.add_parser("build", help="write the exercise notebooks from the solution notebooks")
    return p


def _list(markdown: bool) -> int:
    from emcourse import data

    if markdown:
        print(data.registry_markdown(), end="")
        return 0
    rows = [("NAME", "ARCHIVE", "ACCESSION", "SIZE", "LICENCE", "CACHED")]
    for name, e in data.registry().items():
        licence = e["licence"].split(" (")[0]
        cached = "yes" if data.is_cached(name) else "no"
        rows.append((name, e["archive"], e["accession"], data._size_text(e), licence, cached))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(f"cache: {data.cache_dir()}")
    return 0


def _fetch(names: list[str], all_: bool) -> int:
    from emcourse import data

    if all_:
        names = list(data.registry())
    if not names:
        print("emcourse data fetch: name at least one dataset, or --all (see `data list`).")
        return 2
    failed = 0
    for name in names:
        try:
            path = data.fetch(name, progressbar=True)
        except (data.DataUnavailableError, KeyError) as exc:
            failed += 1
            print(f"FAILED {name}: {exc}")
        else:
            print(f"ok     {name}: {path}")
    return 1 if failed else 0


def _verify() -> int:
    from emcourse import data

    results = data.verify()
    bad = 0
    for path, status in results:
        print(
            f"{status:<18} {path}" if status in ("ok", "no recorded hash") else f"{status}  {path}"
        )
        bad += status.startswith("CORRUPT")
    print(f"{len(results)} files checked, {bad} corrupt.")
    if bad:
        print("Delete the corrupt files and run `emcourse data fetch NAME` again.")
    return 1 if bad else 0


def _mirror(dest: str) -> int:
    from emcourse import data

    written = data.mirror(dest)
    print(f"{len(written)} files copied into {dest}.")
    print(f"Serve them with `python -m http.server -d {dest} 8000` and set")
    print("EMCOURSE_MIRROR=http://HOST:8000 on every machine of the workshop.")
    return 0


def _pin(names: list[str]) -> int:
    from emcourse import data

    try:
        pins = data.pin(names or None)
    except (data.DataUnavailableError, KeyError, ValueError) as exc:
        print(f"FAILED: {exc}")
        return 1
    for name, digest in pins.items():
        print(f"pinned {name}: sha256 {digest}")
    if not pins:
        print("nothing to pin.")
    return 0


def _exercises_build() -> int:
    from pathlib import Path

    from emcourse import exercises

    if not Path("solutions").is_dir():
        print(
            f"emcourse exercises build: no solutions/ folder in {Path.cwd()}; "
            "run it from the root of the course repository."
        )
        return 2
    changed = exercises.build_all(verbose=True)
    print(f"exercises/ now matches solutions/ ({len(changed)} files written or removed).")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.group == "data":
        if args.command == "list":
            return _list(args.markdown)
        if args.command == "fetch":
            return _fetch(args.names, args.all)
        if args.command == "verify":
            return _verify()
        if args.command == "mirror":
            return _mirror(args.dir)
        if args.command == "pin":
            return _pin(args.names)
    if args.group == "exercises" and args.command == "build":
        return _exercises_build()
    return 2  # pragma: no cover - argparse rejects anything else


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
