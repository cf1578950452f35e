"""The instructor guide's schedules cover every lesson in the book, with the times they state.

A track that joins the book without a row in the schedule table, or a lesson
whose stated teaching time changes without the guide, fails here. The "Run
All" and memory columns come from ``make bench`` (not rerun here: too slow for
``make test``); they must stay within the bench's budget.
"""

import re
from pathlib import Path

import yaml
from conftest import toc_files

from emcourse import bench

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "book/instructor-guide.md").read_text()


def lesson_id(path: str) -> str:
    """``notebooks/10-.../07-finding-particles`` -> ``10-07``; track 00 -> ``00``."""
    track, name = path.split("/")[1:3]
    return track[:2] if track.startswith("00") else f"{track[:2]}-{name[:2]}"


def lessons() -> list[str]:
    return sorted(f for f in toc_files() if f.startswith("notebooks/"))


def stated_minutes(path: Path) -> int:
    match = re.search(r"\*\*Time\*\*: about (\d+) minutes", path.read_text())
    assert match, f"{path} states no time"
    return int(match.group(1))


def schedule_rows() -> dict[str, list[str]]:
    """The schedule table: lesson id -> its cells (teach, exercises, Run All, peak memory)."""
    section = GUIDE.split("## Schedules", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.match(r"(\d\d(?:-\d\d)?) ", cells[0])
        if line.startswith("|") and match and len(cells) == 5:
            rows[match.group(1)] = cells[1:]
    return rows


def test_schedule_lists_every_lesson_with_the_times_it_states():
    rows = schedule_rows()
    ids = [lesson_id(path) for path in lessons()]
    assert sorted(rows) == sorted(ids)
    for path in lessons():
        teach, sheet, run_all, memory = rows[lesson_id(path)]
        solution = path.replace("notebooks/", "solutions/", 1)
        assert teach == f"{stated_minutes(ROOT / (path + '.ipynb'))} min", path
        assert sheet == f"{stated_minutes(ROOT / (solution + '.ipynb'))} min", solution
        seconds = [float(s) for s in run_all.split("/")]
        assert len(seconds) == 2 and max(seconds) <= bench.BUDGET_SECONDS, (path, run_all)
        mib = [int(s) for s in memory.split("/")]
        assert len(mib) == 2 and 0 < max(mib) <= bench.BUDGET_BYTES >> 20, (path, memory)


def test_every_lesson_has_a_place_in_the_one_day_and_three_day_plans():
    one_day = GUIDE.split("**One day**", 1)[1].split("**Three days**", 1)[0]
    three_days = GUIDE.split("**Three days**", 1)[1].split("\n## ", 1)[0]
    for path in lessons():
        ident = lesson_id(path)
        assert re.search(rf"\b{ident}\b", one_day), f"{ident} is in no one-day plan"
        assert re.search(rf"\b{ident}\b", three_days), f"{ident} is not in the three-day plan"


def test_the_hub_guarantee_holds_a_lesson_and_its_sheet_open_at_once():
    # what the sizing section says a learner needs: both notebooks' peaks plus the server
    server_mib = 150
    pairs = [sum(int(s) for s in row[3].split("/")) for row in schedule_rows().values()]
    values = yaml.safe_load((ROOT / "deploy/values.yaml").read_text())
    guarantee = values["singleuser"]["memory"]["guarantee"]
    assert guarantee.endswith("G")
    assert float(guarantee[:-1]) * 1024 >= max(pairs) + server_mib, (guarantee, max(pairs))
