"""The ``emcourse`` command line: data management and exercise generation.

::

    emcourse data list [--long [NAME...] | --markdown]
    emcourse data fetch [-v] NAME... | --all
    emcourse data verify
    emcourse data mirror DIR
    emcourse data pin [NAME...]
    emcourse exercises build
    emcourse doctor
    emcourse progress
    emcourse submit [--to DIR]
    emcourse class-report [--layout owner|per-user] [--html FILE] DIR
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

_ENVIRONMENT = """\
environment:
  EMCOURSE_DATA_DIR   the data cache folder (default: the per-user cache,
                      e.g. ~/.cache/emcourse); a hub may share a read-only one
  EMCOURSE_MIRROR     base URL of a workshop mirror, e.g. http://HOST:8000,
                      tried before the archives (see `emcourse data mirror`)
  EMCOURSE_OFFLINE=1  never use the network: lessons use cached data or the
                      synthetic stand-ins
`emcourse data list` shows the values in use."""


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="emcourse",
        description="Data and exercises of the emcourse 3D EM course.",
        epilog=_ENVIRONMENT,
        formatter_class=raw,
    )
    top = p.add_subparsers(dest="group", required=True)

    d = top.add_parser(
        "data",
        help="list, fetch, verify, mirror and pin the course's datasets",
        description="Datasets come from the cache, then EMCOURSE_MIRROR, then the archive; "
        "lessons fall back to synthetic stand-ins.",
        epilog=_ENVIRONMENT,
        formatter_class=raw,
    )
    ds = d.add_subparsers(dest="command", required=True)
    ls = ds.add_parser(
        "list", help="every dataset: archive, size, licence, cached; where data come from"
    )
    how = ls.add_mutually_exclusive_group()
    how.add_argument(
        "--long",
        action="store_true",
        help="also each dataset's accession, page, file URLs, sha256, citation, subset and how "
        "its stand-in differs",
    )
    how.add_argument("--markdown", action="store_true", help="print the book's markdown table")
    ls.add_argument("names", nargs="*", metavar="NAME", help="only these datasets")
    f = ds.add_parser(
        "fetch",
        help="download datasets into the cache (progress bar)",
        epilog=_ENVIRONMENT,
        formatter_class=raw,
    )
    f.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="a registry name, e.g. emd-3197 (see `emcourse data list`)",
    )
    f.add_argument("--all", action="store_true", help="every dataset in the registry")
    f.add_argument(
        "-v", "--verbose", action="store_true", help="print the full error of each failed attempt"
    )
    ds.add_parser("verify", help="check cached files against their sha256 and format")
    m = ds.add_parser("mirror", help="copy the cache into a mirror folder DIR/<host>/<path>")
    m.add_argument("dir", metavar="DIR")
    pn = ds.add_parser("pin", help="(maintainers, online) write sha256 pins into registry.toml")
    pn.add_argument("names", nargs="*", metavar="NAME")

    e = top.add_parser("exercises", help="generate exercises/ from solutions/")
    es = e.add_subparsers(dest="command", required=True)
    es.add_parser("build", help="write the exercise notebooks from the solution notebooks")

    top.add_parser(
        "doctor",
        help="check this set-up (Python, packages, data, memory, disk, kernel, the lessons' "
        "imports, PyTorch) and say how "
        "to fix each problem",
        epilog=_ENVIRONMENT,
        formatter_class=raw,
    )
    _progress_parsers(top, raw)
    return p


_DROP_HELP = """The drop folder is made by the instructor. On a hub with system users:
  install -d -m 3733 -o INSTRUCTOR -g INSTRUCTORS /srv/emcourse-drop
(learners may add files but not list, read, replace or remove them). On Zero to
JupyterHub, mount a per-user subPath of a shared volume (deploy/z2jh-drop.yaml)."""


def _progress_parsers(top, raw) -> None:
    top.add_parser(
        "progress",
        help="which exercise tasks you have done, and which is next",
        description="Read your progress record (EMCOURSE_PROGRESS_DIR, default "
        "~/.local/share/emcourse), which every self-check writes on this machine only.",
    )
    s = top.add_parser(
        "submit",
        help="hand your progress record in to the instructor's drop folder",
        epilog=_DROP_HELP,
        formatter_class=raw,
    )
    s.add_argument("--to", metavar="DIR", help="the drop folder (default: $EMCOURSE_DROP_DIR)")
    r = top.add_parser(
        "class-report",
        help="(instructors) per task: how many tried and passed, the commonest mistakes",
        epilog=_DROP_HELP,
        formatter_class=raw,
    )
    r.add_argument("dir", metavar="DIR", help="the drop folder")
    r.add_argument(
        "--layout",
        choices=("owner", "per-user"),
        default="owner",
        help="owner: files side by side, each counted for its owner (system users); "
        "per-user: a sub-folder per learner, named by the hub (Zero to JupyterHub)",
    )
    r.add_argument("--html", metavar="FILE", help="also write the report as a web page")


def _progress_commands(args) -> int:
    from emcourse import classroom, progress

    if args.group == "progress":
        print(progress.report(progress.read_records()))
        return 0
    if args.group == "submit":
        try:
            path = classroom.submit(args.to)
        except classroom.SubmitError as exc:
            print(f"emcourse submit: {exc}", file=sys.stderr)
            return 1
        print(f"Handed in {path.name} to {path.parent}.")
        return 0
    try:
        report = classroom.class_report(args.dir, layout=args.layout)
    except OSError as exc:
        print(f"emcourse class-report: cannot read {args.dir}: {exc.strerror}.", file=sys.stderr)
        return 1
    print(report.text())
    if args.html:
        from pathlib import Path

        Path(args.html).write_text(classroom.render_html(report), encoding="utf-8")
        print(f"Wrote {args.html}")
    return 0


WIDTH = 100  # columns of `data list`


def _fit(rows: list[tuple[str, ...]], width: int = WIDTH) -> list[str]:
    """Rows as aligned columns within ``width``; the widest column but the first is clipped."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        i = max(range(1, len(widths)), key=widths.__getitem__)
        widths[i] -= 1
    lines = []
    for r in rows:
        cells = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(r, widths, strict=True)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return lines


def _details(name: str, e: dict) -> list[str]:
    """The ``--long`` lines of one dataset: every field a table cannot hold, wrapped."""
    import os
    import textwrap

    from emcourse.data.registry import file_urls, pinned_hash

    def field(key: str, text: str) -> list[str]:
        return textwrap.wrap(
            text,
            WIDTH,
            initial_indent=f"  {key + ':':<10}",
            subsequent_indent=" " * 12,
            break_long_words=False,
            break_on_hyphens=False,
        )

    lines = field("archive", f"{e['archive']}, {e['accession']}")
    lines += field("page", e.get("page", ""))
    urls, pad = file_urls(e), " " * 12
    pins = {role: pinned_hash(e, role) for role in urls}
    if len(urls) == 1:
        lines += field("file", next(iter(urls.values())))
    else:  # the folder once, then each role's file in it
        base = os.path.commonprefix(list(urls.values())).rsplit("/", 1)[0] + "/"
        lines += field("files", base)
        for role, url in urls.items():
            lines.append(f"{pad}{role}: {url.removeprefix(base)}")
            if pins[role] and len(urls) > 1:
                lines.append(f"{pad}  sha256 {pins[role]}")
    if not any(pins.values()):
        lines += field("sha256", "not pinned: recorded on first download")
    elif len(urls) == 1:
        lines += field("sha256", next(iter(pins.values())))
    for key, label in (("licence", "licence"), ("citation", "cite"), ("subset", "subset")):
        lines += field(label, e.get(key, ""))
    lines += field("stand-in", e.get("standin_differs", "") or e.get("standin", ""))
    return [f"{name}", *lines, ""]


def _list(markdown: bool, long: bool = False, names: list[str] | None = None) -> int:
    from emcourse import data
    from emcourse.data.core import cache_state
    from emcourse.data.registry import size_text

    if markdown:
        print(data.registry_markdown(), end="")
        return 0
    rows = [("NAME", "ARCHIVE", "SIZE", "LICENCE", "CACHED")]
    entries = data.registry()
    unknown = [n for n in names or [] if n not in entries]
    if unknown:
        print(f"emcourse data list: no dataset {', '.join(unknown)}; known: {', '.join(entries)}.")
        return 2
    entries = {n: e for n, e in entries.items() if not names or n in names}
    for name, e in entries.items():
        archive = e["archive"].split(" (")[0]
        size = size_text(e).removesuffix(" (estimate)")
        licence = e["licence"].split(" (")[0]
        rows.append((name, archive, size, licence, cache_state(name)))
    for line in _fit(rows):
        print(line)
    print("(~: estimated size; `emcourse data list --long` for URLs, hashes and citations)")
    if any(r[-1] == "unverified" for r in rows):
        print("(unverified: no sha256 pinned or recorded, so a changed byte would go unseen)")
    print()
    if long:
        for name, e in entries.items():
            print("\n".join(_details(name, e)))
    for line in _where_from():
        print(line)
    return 0


def _where_from() -> list[str]:
    """Footer of ``data list``: the cache, the mirror and offline mode in use."""
    from emcourse.data import cache as caches
    from emcourse.data import tiers
    from emcourse.data.messages import redact

    cache = caches.cache_dir()
    lines = [f"cache: {cache} (EMCOURSE_DATA_DIR)"]
    if not caches.is_writable(cache):
        lines[0] = f"cache: {cache} (EMCOURSE_DATA_DIR; read-only: its files are used)"
        lines.append(f"per-user cache: {caches.write_dir()} (new downloads go here)")
    mirror, problem = tiers.mirror_setting()
    mirror, problem = redact(mirror), redact(problem)
    if problem:
        lines.append(f"mirror: {mirror} -- NOT USED: {problem}")
    else:
        lines.append(f"mirror: {mirror or 'none'} (EMCOURSE_MIRROR)")
    lines.append(f"offline: {'on' if tiers.offline() else 'off'} (EMCOURSE_OFFLINE)")
    return lines


def _fetch(names: list[str], all_: bool, verbose: bool = False) -> int:
    from emcourse import data
    from emcourse.data.messages import advice as advice_for
    from emcourse.data.tiers import mirror_setting, watch_tiers

    if all_:
        names = list(data.registry())
    if not names:
        print("emcourse data fetch: name at least one dataset, or --all (see `data list`).")
        return 2
    fetched, standins, unknown = 0, [], []
    advice: dict[str, list[str]] = {}  # cause -> names
    for name in names:
        try:
            with watch_tiers() as got:
                path = data.fetch(name, progressbar=True)
        except data.UnknownDatasetError:
            unknown.append(name)
            print(f"FAILED {name}: no dataset of that name in the registry")
        except data.DataUnavailableError as exc:
            standins.append(name)
            advice.setdefault(exc.kind or "network", []).append(name)
            print(f"FAILED {name}: {exc.summary or exc.reason or exc}")
            if verbose:
                for detail in exc.details or [str(exc)]:
                    print(f"    {detail}")
        else:
            fetched += 1
            print(f"ok     {name}: {_fetched(got, path)}")
    if unknown:
        print(f"Known datasets: {', '.join(data.registry())}.")
    _, mirror_fix = mirror_setting()
    for kind, failed in advice.items():
        hint = "emcourse data fetch " + ("--all" if all_ else " ".join(failed))
        text = advice_for(kind, hint, mirror_fix=mirror_fix)
        print(f"{', '.join(failed)}: {text}" if len(advice) > 1 else text)
    if standins or unknown:
        if standins and not verbose:
            print("(add -v for the full errors)")
        text = f"{fetched}/{len(names)} fetched"
        if standins:
            text += f"; lessons will use the synthetic stand-ins for: {', '.join(standins)}"
        print(text + ".")
        return 1
    return 0


def _fetched(files: list, path) -> str:
    """One dataset's fetch in words: how many files, their size, where, from which tier."""
    import os
    from collections import Counter
    from pathlib import Path

    from emcourse.data.registry import size_text

    paths = [Path(p) for _, p in files] or (
        list(path.values()) if isinstance(path, dict) else [path]
    )
    size = sum(p.stat().st_size for p in paths if p.is_file())
    tiers = Counter(tier for tier, _ in files)
    origin = " and ".join(
        f"the {tier}" if len(tiers) == 1 else f"{n} from the {tier}" for tier, n in tiers.items()
    )
    where = paths[0] if len(paths) == 1 else Path(os.path.commonpath(paths))
    n = f"{len(paths)} file" + ("s" if len(paths) != 1 else "")
    return f"{n}, {size_text({'size': size})}, from {origin or 'the cache'}, in {where}"


def _verify() -> int:
    from emcourse import data

    results = data.verify()
    bad = foreign = unverified = 0
    for path, status in results:
        print(
            f"{status:<18} {path}" if status in ("ok", "no recorded hash") else f"{status}  {path}"
        )
        bad += status.startswith("CORRUPT")
        foreign += status.startswith("FOREIGN")
        unverified += status == "no recorded hash"
    checked = sum(not s.startswith("removed") for _, s in results)
    print(
        f"{checked} files checked, {bad} corrupt"
        + (f", {foreign} not yours" if foreign else "")
        + (f", {unverified} without a recorded hash (format checked only)" if unverified else "")
        + "."
    )
    if bad:
        print(
            "Run `emcourse data fetch NAME` (or `--all`): corrupt files are replaced by checked "
            "copies."
        )
    if foreign:
        print("Delete the files marked FOREIGN: another user put them in your fallback cache.")
    return 1 if bad or foreign else 0


def _mirror(dest: str) -> int:
    from emcourse import data

    written = data.mirror(dest)
    print(f"{len(written)} files copied into {dest}.")
    missing = data.mirror_missing(dest)
    if missing:
        where = data.cache_dir()
        print(f"Missing from the mirror (not in the cache {where}): {', '.join(missing)}.")
        print(
            f"Fetch them here with `emcourse data fetch {' '.join(missing)}` (online), "
            f"then run `emcourse data mirror {dest}` again."
        )
    if not written:
        print("Nothing to serve yet.")
        return 1
    print(f"Serve them with `python -m http.server -d {dest} 8000` and set")
    print("EMCOURSE_MIRROR=http://HOST:8000 on every machine of the workshop.")
    return 0


def _pin(names: list[str]) -> int:
    from emcourse import data

    try:
        pins = data.pin(names or None)
    except (data.DataUnavailableError, data.UnknownDatasetError, ValueError) as exc:
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
            return _list(args.markdown, args.long, args.names)
        if args.command == "fetch":
            return _fetch(args.names, args.all, args.verbose)
        if args.command == "verify":
            return _verify()
        if args.command == "mirror":
            return _mirror(args.dir)
        if args.command == "pin":
            return _pin(args.names)
    if args.group == "exercises" and args.command == "build":
        return _exercises_build()
    if args.group == "doctor":
        from emcourse import doctor

        return doctor.main()
    if args.group in {"progress", "submit", "class-report"}:
        return _progress_commands(args)
    return 2  # pragma: no cover - argparse rejects anything else


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
