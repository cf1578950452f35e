"""A real JupyterHub on 127.0.0.1 serving the course to two real system users.

Set-up (``e2e/hub/setup.sh``, as root): the hub's environment in
``/opt/emcourse-hub`` (Debian's Python, outside root's home), the course
installed in it, system users alice and bob. The test then:

1. builds a mirror of the archives from ``../shared/fixtures`` on 127.0.0.1 and
   fills a shared data folder from it with ``emcourse data fetch --all`` (what
   ``make data`` runs), owned by root, readable by all, writable by none;
2. clones the repository bare and makes its ``student`` branch (no
   ``solutions/``) with ``tools/student-branch.sh``;
3. starts ``jupyterhub`` (dummy authenticator, local process spawner,
   configurable-http-proxy from npm);
4. for each user, opens the nbgitpuller link the book would generate for a
   lesson in Chromium, logs in, and lands in JupyterLab on the pulled lesson;
5. runs every code cell of that lesson in each user's kernel through the hub,
   and a probe: both read the shared folder, neither can write it, neither can
   read the other's home, neither has ``solutions/``, nothing was downloaded
   (the user caches are empty and the shared folder is unchanged);
6. runs the lesson in eight kernels at once (four per user) and records the
   wall time and the summed peak memory of the kernels in
   ``_build/hub-concurrency.json``;
7. has each user run checks of an exercise sheet and hand in their progress
   record (``emcourse submit``) to a drop folder that only the instructor, carol,
   can read; alice then tries to list, read, overwrite, remove and forge bob's
   record, and the instructor's ``emcourse class-report`` counts each learner
   once, refuses the forgery and is kept in ``_build/class-report.txt``.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import threading
import time
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import websocket
from e2e_support import BUILD, CHROMIUM, CHROMIUM_ARGS, REPO, free_port, needs
from playwright import sync_api as playwright_sync

HUB_ENV = Path(os.environ.get("HUB_ENV", "/opt/emcourse-hub"))
CHP = REPO / "tools/vendor/node_modules/.bin/configurable-http-proxy"
FIXTURES = Path(os.environ.get("EMCOURSE_FIXTURES", REPO / ".." / "shared" / "fixtures")).resolve()
USERS = ("alice", "bob")
INSTRUCTOR, INSTRUCTORS = "carol", "emcourse-instructors"
LESSON = "notebooks/00-archives/01-public-archives.ipynb"
CONCURRENT = 8
# registry datasets with a real copy in ../shared/fixtures (archive file name -> fixture)
FIXTURE_FILES = {
    "emd_3197.map.gz": "emdb/emd_3197.map.gz",
    "emd_1832.map.gz": "emdb/emd_1832.map.gz",
    "TS_01.mrc.mdoc": "tilt-metadata/TS_01.mrc.mdoc",
}

PROBE = """
import errno, getpass, os, pathlib, tempfile
user = getpass.getuser()
shared = pathlib.Path(os.environ["EMCOURSE_DATA_DIR"])
other = "bob" if user == "alice" else "alice"
home = pathlib.Path(f"/home/{other}")
print("USER", user)
print("SHARED", sorted(p.relative_to(shared).as_posix() for p in shared.rglob("*") if p.is_file()))
def attempt(name, action):
    try:
        action()
        print(name, "SUCCEEDED")
    except OSError as exc:
        print(name, "REFUSED", errno.errorcode.get(exc.errno, exc.errno))
attempt("WRITE SHARED", lambda: (shared / "probe").write_text("x"))
sub = next(p for p in shared.rglob("*") if p.is_dir())
attempt("WRITE SHARED SUBFOLDER", lambda: (sub / "probe").write_text("x"))
attempt("LIST OTHER HOME", lambda: os.listdir(home))
attempt("TRAVERSE OTHER HOME", lambda: os.stat(home / ".bashrc"))
attempt("WRITE OTHER HOME", lambda: (home / "planted").write_text("x"))
own = [pathlib.Path.home() / ".cache" / "emcourse",
       pathlib.Path(tempfile.gettempdir()) / f"emcourse-{os.getuid()}"]
print("USER CACHE FILES", sum(1 for d in own if d.exists() for p in d.rglob("*") if p.is_file()))
print("SOLUTIONS", (pathlib.Path.home() / "emcourse" / "solutions").exists())
print("LESSON", (pathlib.Path.home() / "emcourse" / "LESSON_PATH").exists())
""".replace("LESSON_PATH", LESSON)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _require_setup() -> None:
    if os.geteuid() != 0:
        pytest.fail("the hub test runs as root (it starts servers as alice and bob)")
    problems = [str(p) for p in (HUB_ENV / "bin/jupyterhub", CHP, Path(CHROMIUM)) if not p.exists()]
    for user in USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            problems.append(f"user {user}")
    for user in (*USERS, INSTRUCTOR):
        try:
            pwd.getpwnam(user)
        except KeyError:
            problems.append(f"user {user}")
    if problems:
        pytest.fail(f"missing {', '.join(sorted(set(problems)))}: run e2e/hub/setup.sh as root")
    if not FIXTURES.is_dir():
        needs(str(FIXTURES), "real archive files, to fill the hub's mirror")


def _tree(path: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(path).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in path.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def site():
    """Shared data, the bare repository with its student branch, and a running hub."""
    _require_setup()
    for user in USERS:  # a fresh start: the course and caches of an earlier run go
        home = Path(pwd.getpwnam(user).pw_dir)
        for leftover in (home / "emcourse", home / ".cache" / "emcourse"):
            shutil.rmtree(leftover, ignore_errors=True)
    base = Path("/srv") / f"emcourse-e2e-{secrets.token_hex(4)}"
    base.mkdir(parents=True, mode=0o755)
    base.chmod(0o755)
    httpd = None
    hub = None
    mounted = None
    try:
        # 1. a mirror of the archives from the fixtures, and `make data` from it
        from emcourse import data

        mirror = base / "mirror"
        names, files = [], []
        for name, entry in data.registry().items():
            fixture = FIXTURE_FILES.get(entry.get("url", "").rsplit("/", 1)[-1])
            if fixture:
                parts = urlsplit(entry["url"])
                target = mirror / (parts.hostname + parts.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(FIXTURES / fixture, target)
                names.append(name)
                files.append(parts.hostname + parts.path)
        assert names, "no registry entry has a fixture"
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(mirror)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        shared = base / "data"
        closed = "http://127.0.0.1:9"  # any request to a real archive fails at once
        fill_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EMCOURSE_")},
            "EMCOURSE_DATA_DIR": str(shared),
            "EMCOURSE_MIRROR": f"http://127.0.0.1:{httpd.server_address[1]}",
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONPATH": "",
        }
        fill = subprocess.run(
            [str(HUB_ENV / "bin/emcourse"), "data", "fetch", "--all"],
            env=fill_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        check = subprocess.run(
            [
                str(HUB_ENV / "bin/python"),
                "-c",
                "import sys; from emcourse import data; "
                "print([n for n in sys.argv[1:] if not data.is_cached(n)])",
                *names,
            ],
            env=fill_env,
            capture_output=True,
            text=True,
        )
        assert check.stdout.strip() == "[]", fill.stdout + fill.stderr + check.stderr
        subprocess.run(["chmod", "-R", "a+rX,go-w", str(shared)], check=True)
        # learners see the folder through a read-only bind mount, as a hub mounts it
        data_ro = base / "data-ro"
        data_ro.mkdir()
        for args in (["--bind", shared, data_ro], ["-o", "remount,bind,ro", data_ro]):
            done = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)
            if done.returncode:
                pytest.fail(f"cannot make the read-only bind mount: {done.stderr.strip()}")
        mounted = data_ro
        before = _tree(data_ro)
        # 2. the repository as a hub pulls it: bare, with a student branch
        git_dir = base / "git" / "emcourse"
        subprocess.run(["git", "clone", "-q", "--bare", str(REPO), str(git_dir)], check=True)
        subprocess.run([str(REPO / "tools/student-branch.sh"), "student", str(git_dir)], check=True)
        subprocess.run(["chmod", "-R", "a+rX", str(base / "git")], check=True)
        gitconfig = base / "gitconfig"
        gitconfig.write_text("[safe]\n\tdirectory = *\n")
        gitconfig.chmod(0o644)
        # the drop folder for progress records: learners add files, only carol reads
        drop = base / "drop"
        drop.mkdir()
        shutil.chown(drop, INSTRUCTOR, INSTRUCTORS)
        drop.chmod(0o3733)
        # 3. the hub
        state = base / "state"
        state.mkdir(mode=0o700)
        port = free_port()
        token = secrets.token_hex(24)
        hub_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EMCOURSE_", "JUPYTER"))},
            "HUB_STATE_DIR": str(state),
            "HUB_PORT": str(port),
            "HUB_API_PORT": str(free_port()),
            "PROXY_API_PORT": str(free_port()),
            "HUB_E2E_TOKEN": token,
            "CHP": str(CHP),
            "HUB_ENV": str(HUB_ENV),
            "EMCOURSE_SHARED_DATA": str(data_ro),
            "EMCOURSE_MIRROR": f"http://127.0.0.1:{httpd.server_address[1]}",
            "HUB_GITCONFIG": str(gitconfig),
            "EMCOURSE_DROP_DIR": str(drop),
            "PYTHONPATH": "",
        }
        log = open(state / "hub.log", "w")  # noqa: SIM115 - closed at teardown
        hub = subprocess.Popen(
            [str(HUB_ENV / "bin/jupyterhub"), "-f", str(REPO / "e2e/hub/jupyterhub_config.py")],
            cwd=state,
            env=hub_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if hub.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the hub did not start:\n" + (state / "hub.log").read_text()[-4000:])
            try:
                if requests.get(f"{url}/hub/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        yield {
            "url": url,
            "token": token,
            "shared": data_ro,
            "source": shared,
            "before": before,
            "names": names,
            "files": files,
            "repo": f"file://{git_dir}",
            "log": state / "hub.log",
            "drop": drop,
        }
    finally:
        if hub is not None:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(timeout=60)
            except subprocess.TimeoutExpired:
                hub.kill()
            log.close()
        for user in USERS:  # a server the hub failed to stop: these users run nothing else
            pids = subprocess.run(["ps", "-u", user, "-o", "pid="], capture_output=True, text=True)
            for pid in pids.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except ProcessLookupError:
                    pass
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if mounted is not None:
            subprocess.run(["umount", str(mounted)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def _session(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"token {token}"
    return s


def _server_url(site, user: str) -> str:
    info = _session(site["token"]).get(f"{site['url']}/hub/api/users/{user}").json()
    server = info["servers"].get("", {})
    assert server.get("ready"), info
    return site["url"] + server["url"]


def _run_cells(server: str, token: str, path: str, cells: list[str], timeout=600) -> list[dict]:
    """Run code cells in a new kernel started in ``path``'s folder; return every output.

    Each call gets a session of its own (a unique path in that folder): a session
    for a path that already has one would share its kernel.
    """
    s = _session(token)
    own = f"{path.rsplit('/', 1)[0] + '/' if '/' in path else ''}e2e-{uuid.uuid4().hex}.ipynb"
    r = s.post(
        server + "api/sessions",
        json={"path": own, "type": "notebook", "name": own, "kernel": {"name": "python3"}},
    )
    assert r.status_code == 201, r.text
    session_id, kernel_id = r.json()["id"], r.json()["kernel"]["id"]
    ws_url = server.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels"
    ws = websocket.create_connection(
        ws_url, timeout=timeout, header=[f"Authorization: token {token}"]
    )
    outputs = []
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            ws.send(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "msg_type": "execute_request",
                            "username": "e2e",
                            "session": uuid.uuid4().hex,
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "channel": "shell",
                        "buffers": [],
                        "content": {
                            "code": code,
                            "silent": False,
                            "store_history": True,
                            "user_expressions": {},
                            "allow_stdin": False,
                            "stop_on_error": True,
                        },
                    }
                )
            )
            replied = idle = False
            while not (replied and idle):
                frame = ws.recv()
                if isinstance(frame, bytes):  # a message with binary buffers (widgets)
                    continue
                m = json.loads(frame)
                if m.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = m["msg_type"]
                if kind in ("stream", "error", "display_data", "execute_result"):
                    outputs.append({"type": kind, **m["content"]})
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and m["content"]["execution_state"] == "idle":
                    idle = True
        outputs.append({"type": "peak", "bytes": _kernel_peak(kernel_id), "kernel": kernel_id})
    finally:
        ws.close()
        s.delete(server + f"api/sessions/{session_id}")
    return outputs


def _kernel_peak(kernel_id: str) -> int:
    """VmHWM of the kernel process (found by its connection file), in bytes."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if kernel_id not in (proc / "cmdline").read_text():
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            continue
    return 0


def _server_rss(user: str) -> int:
    """Resident memory of a user's jupyterhub-singleuser process, in bytes."""
    uid = pwd.getpwnam(user).pw_uid
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or proc.stat().st_uid != uid:
                continue
            if "jupyterhub-singleuser" not in (proc / "cmdline").read_text():
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            continue
    return 0


def _text(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        if o["type"] == "stream":
            parts.append(o["text"])
        elif o["type"] in ("display_data", "execute_result"):
            parts.append(o["data"].get("text/plain", ""))
    return "".join(parts)


def _lesson_cells(server: str, token: str) -> list[str]:
    r = _session(token).get(server + f"api/contents/emcourse/{LESSON}")
    assert r.ok, f"the lesson is not in the user's home: {r.status_code}"
    cells = r.json()["content"]["cells"]
    return [c["source"] for c in cells if c["cell_type"] == "code" and c["source"].strip()]


@pytest.fixture(scope="module")
def pulled(site):
    """Each user follows the book's nbgitpuller link in Chromium and lands in JupyterLab."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_ext", REPO / "book/_ext/emcourse_book.py")
    book_ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_ext)
    theme = {
        "repository_url": site["repo"],
        "repository_branch": "main",
        "launch_buttons": {
            "jupyterhub_url": site["url"],
            "notebook_interface": "jupyterlab",
            "student_branch": "student",
        },
    }
    link = book_ext.launch_urls(LESSON.removesuffix(".ipynb"), theme)["JupyterHub"]
    landed = {}
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for user in USERS:
            context = browser.new_context()
            page = context.new_page()
            page.goto(link)
            page.locator("input[name=username]").fill(user)
            page.locator("input[name=password]").fill("any-password")
            page.locator("input[type=submit], button[type=submit]").first.click()
            try:
                page.wait_for_url(f"**/user/{user}/lab/tree/emcourse/{LESSON}*", timeout=180_000)
            except playwright_sync.TimeoutError:
                pytest.fail(f"{user} stuck at {page.url}:\n{page.inner_text('body')[-3000:]}")
            page.wait_for_function("() => document.querySelector('.jp-Notebook')", timeout=120_000)
            landed[user] = page.url
            context.close()
        browser.close()
    return landed


def test_each_user_gets_the_course_through_the_nbgitpuller_link(site, pulled):
    for user in USERS:
        assert f"/user/{user}/lab/tree/emcourse/{LESSON}" in pulled[user]
        home = Path(pwd.getpwnam(user).pw_dir) / "emcourse"
        assert (home / LESSON).is_file() and (home / ".git").is_dir()
        assert home.stat().st_uid == pwd.getpwnam(user).pw_uid
        assert not (home / "solutions").exists(), "the student branch carries solutions/"


def test_each_user_runs_the_lesson_on_the_shared_data_in_isolation(site, pulled):
    for user in USERS:
        server = _server_url(site, user)
        cells = _lesson_cells(server, site["token"])
        outputs = _run_cells(server, site["token"], f"emcourse/{LESSON}", cells)
        errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["type"] == "error"]
        assert not errors, errors
        text = _text(outputs)
        assert "synthetic stand-in" not in text, text[-2000:]
        probe = _text(_run_cells(server, site["token"], "probe.ipynb", [PROBE]))
        assert f"USER {user}" in probe
        for file in site["files"]:
            assert f"'{file}'" in probe, f"{user} does not see {file} in the shared folder"
        assert "WRITE SHARED REFUSED EROFS" in probe, probe  # the mount, not only modes
        assert "WRITE SHARED SUBFOLDER REFUSED EROFS" in probe, probe
        for attack in ("LIST", "TRAVERSE", "WRITE"):
            assert f"{attack} OTHER HOME REFUSED EACCES" in probe, probe
        # with the network open to the mirror, the lesson still downloaded nothing: every
        # file came from the shared folder (the user's cache and $TMPDIR fallback are empty)
        assert "USER CACHE FILES 0" in probe, probe
        assert "SOLUTIONS False" in probe and "LESSON True" in probe, probe
    assert _tree(site["shared"]) == site["before"], "the shared folder changed"


def test_eight_kernels_run_the_lesson_at_once(site, pulled):
    servers = {user: _server_url(site, user) for user in USERS}
    cells = _lesson_cells(servers["alice"], site["token"])
    results: dict[int, list[dict] | BaseException] = {}

    def one(i: int) -> None:
        user = USERS[i % len(USERS)]
        try:
            results[i] = _run_cells(
                servers[user], site["token"], f"emcourse/{LESSON}", cells, timeout=900
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=1200)
    wall = time.perf_counter() - start
    failures = {i: r for i, r in results.items() if isinstance(r, BaseException)}
    assert len(results) == CONCURRENT and not failures, failures
    errors = [o for r in results.values() for o in r if o["type"] == "error"]
    assert not errors, errors[:2]
    ends = [next(o for o in r if o["type"] == "peak") for r in results.values()]
    assert len({e["kernel"] for e in ends}) == CONCURRENT, "runs shared a kernel"
    peaks = [e["bytes"] for e in ends]
    assert all(peaks), peaks
    servers_rss = {user: _server_rss(user) for user in USERS}
    BUILD.mkdir(exist_ok=True)
    record = {
        "lesson": LESSON,
        "kernels": CONCURRENT,
        "cpu_cores": os.cpu_count(),
        "wall_seconds": round(wall, 1),
        "peak_bytes_per_kernel": peaks,
        "total_peak_bytes": sum(peaks),
        "server_rss_bytes": servers_rss,
    }
    (BUILD / "hub-concurrency.json").write_text(json.dumps(record, indent=1) + "\n")


# -- progress records: hand in, and the instructor's class report ------------------

WORK = """
import subprocess, sys
from emcourse import checks
checks.box_size_angstrom(lambda v: tuple(float(n) for n in v.shape))  # in voxels: diagnosed
checks.box_size_angstrom(lambda v: tuple(n * s for n, s in zip(v.shape, v.voxel_size_zyx)))
done = subprocess.run([sys.executable, "-m", "emcourse", "submit"], capture_output=True, text=True)
print("SUBMIT", done.returncode, done.stdout.strip(), done.stderr.strip())
"""

ATTACK = """
import json, os, pathlib, subprocess, sys
drop = pathlib.Path(os.environ["EMCOURSE_DROP_DIR"])
theirs = drop / "THEIRS"
def attempt(name, action):
    try:
        action()
        print(name, "SUCCEEDED")
    except OSError as exc:
        print(name, "REFUSED", type(exc).__name__)
attempt("LIST", lambda: os.listdir(drop))
attempt("READ", lambda: theirs.read_text())
attempt("OVERWRITE", lambda: theirs.write_text("{}"))
attempt("REMOVE", lambda: theirs.unlink())
attempt("RENAME", lambda: theirs.rename(drop / "gone.jsonl"))
attempt("PROGRESS", lambda: os.listdir("/home/OTHER/.local/share/emcourse"))
forged = {"v": 1, "user": "OTHER", "task": "box_size_angstrom", "check": "box size",
          "status": "passed", "diagnosis": "", "time": "2999-01-01T00:00:00Z"}
name = drop / "OTHER-29990101T000000000000Z-forged00.jsonl"
name.write_text(json.dumps(forged) + "\\n")
print("FORGED", name.name)
"""


def _kernel(site, user: str, code: str) -> str:
    outputs = _run_cells(_server_url(site, user), site["token"], "progress.ipynb", [code])
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["type"] == "error"]
    assert not errors, errors
    return _text(outputs)


def _as(user: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir, "LANG": "C.UTF-8"}
    return subprocess.run(
        [
            shutil.which("runuser") or "/usr/sbin/runuser",
            "-u",
            user,
            "--",
            str(HUB_ENV / "bin/emcourse"),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=120,
    )


def test_learners_hand_in_records_that_only_the_instructor_reads(site, pulled):
    drop = site["drop"]
    handed = {}
    for user in USERS:
        out = _kernel(site, user, WORK)
        assert "Diagnosis:" in out and "✔ box size: passed" in out, out
        assert "SUBMIT 0 Handed in" in out, out
        handed[user] = out.split("Handed in ", 1)[1].split(" to ", 1)[0]
        path = drop / handed[user]
        assert path.stat().st_uid == pwd.getpwnam(user).pw_uid
        assert oct(path.stat().st_mode & 0o777) == oct(0o640)
        own = Path(pwd.getpwnam(user).pw_dir) / ".local/share/emcourse"
        assert oct(own.stat().st_mode & 0o777) == oct(0o700)
    # alice against bob's record: every attempt fails
    attack = ATTACK.replace("THEIRS", handed["bob"]).replace("OTHER", "bob")
    out = _kernel(site, "alice", attack)
    for step in ("LIST", "READ", "OVERWRITE", "REMOVE", "RENAME", "PROGRESS"):
        assert f"{step} REFUSED" in out, out
    forged = out.split("FORGED ", 1)[1].split()[0]
    assert (drop / handed["bob"]).stat().st_uid == pwd.getpwnam("bob").pw_uid
    # the instructor's report: both learners once each, the forgery refused
    report = _as(INSTRUCTOR, "class-report", str(drop))
    assert report.returncode == 0, report.stderr
    text = report.stdout
    assert "2 learners handed in records: alice, bob" in text, text
    assert "Task 1: how big is the box?: 2 of 2 passed" in text, text
    assert "2 of 2: that is the box in voxels" in text, text
    assert f"refused: {forged}: owned by alice, named bob" in text, text
    BUILD.mkdir(exist_ok=True)
    (BUILD / "class-report.txt").write_text(text)
    # a learner cannot run the report on the folder
    assert "Permission" in _as("alice", "class-report", str(drop)).stderr
    # with the protection removed, the same attack would succeed, and submit refuses
    drop.chmod(0o1777)
    try:
        out = _kernel(site, "alice", attack.replace('attempt("PROGRESS"', '("PROGRESS"'))
        assert "LIST SUCCEEDED" in out, out
        out = _kernel(site, "alice", WORK)
        assert "SUBMIT 1" in out and "chmod 3733" in out, out
    finally:
        drop.chmod(0o3733)


# -- isolation: planted files, the mirror-only network, and the same attacks unprotected --

PLANT = """
import os, pathlib, pwd, shutil, tempfile
shared = pathlib.Path(os.environ["EMCOURSE_DATA_DIR"])
real = next(shared.rglob("emd_1832.map.gz"))
victim = pwd.getpwnam("VICTIM")
fallback = pathlib.Path(tempfile.gettempdir()) / f"emcourse-{victim.pw_uid}"
target = fallback / real.relative_to(shared)
target.parent.mkdir(parents=True, exist_ok=True)
shutil.copy(real, target)
print("PLANTED", fallback)
"""

LOAD_PRIVATE = """
import os, tempfile
os.environ["EMCOURSE_DATA_DIR"] = tempfile.mkdtemp()  # an empty cache of this user's own
os.environ["EMCOURSE_OFFLINE"] = "1"
from emcourse import data
m = data.load("emd-1832")
print("LOADED", "REAL" if m.source.real else "STAND-IN")
"""

NETWORK = """
import os, tempfile, requests
os.environ["EMCOURSE_DATA_DIR"] = tempfile.mkdtemp()
from emcourse import data
print("MIRROR FETCH", data.fetch("emd-1832").stat().st_size > 0)
try:
    requests.get("https://ftp.ebi.ac.uk/pub/databases/emdb/", timeout=10)
    print("ARCHIVE REACHED")
except requests.RequestException as exc:
    print("ARCHIVE BLOCKED", type(exc).__name__)
"""


def test_planted_files_and_open_doors_are_refused_and_would_work_unprotected(site, pulled):
    bob = pwd.getpwnam("bob")
    fallback = Path("/tmp") / f"emcourse-{bob.pw_uid}"
    shutil.rmtree(fallback, ignore_errors=True)
    try:
        # alice plants a map in bob's $TMPDIR fallback (/tmp is everyone's: this succeeds)
        out = _kernel(site, "alice", PLANT.replace("VICTIM", "bob"))
        assert f"PLANTED {fallback}" in out, out
        assert fallback.stat().st_uid == pwd.getpwnam("alice").pw_uid
        # bob, with an empty cache of his own, never loads it: the stand-in, announced
        out = _kernel(site, "bob", LOAD_PRIVATE)
        assert "LOADED STAND-IN" in out and "belongs to another user" in out, out
        # unprotected (the folder as if it were bob's), the planted file is loaded as real
        subprocess.run(["chown", "-R", "bob", str(fallback)], check=True)
        fallback.chmod(0o700)
        assert "LOADED REAL" in _kernel(site, "bob", LOAD_PRIVATE)
    finally:
        shutil.rmtree(fallback, ignore_errors=True)
    # the network: the mirror answers, the archive does not
    out = _kernel(site, "alice", NETWORK)
    assert "MIRROR FETCH True" in out and "ARCHIVE BLOCKED" in out, out
    # the same attacks with each protection removed succeed, so the test can fail
    home = Path(bob.pw_dir)
    shared, source = site["shared"], site["source"]
    sub = next(p for p in source.rglob("*") if p.is_dir())
    home.chmod(0o755)
    subprocess.run(["mount", "-o", "remount,bind,rw", str(shared)], check=True)
    sub.chmod(0o777)
    try:
        probe = _text(_run_cells(_server_url(site, "alice"), site["token"], "p.ipynb", [PROBE]))
        assert "LIST OTHER HOME SUCCEEDED" in probe, probe
        assert "TRAVERSE OTHER HOME SUCCEEDED" in probe, probe
        assert "WRITE SHARED SUBFOLDER SUCCEEDED" in probe, probe
    finally:
        home.chmod(0o700)
        sub.chmod(0o755)
        for planted in sub.glob("probe"):
            planted.unlink()
        subprocess.run(["mount", "-o", "remount,bind,ro", str(shared)], check=True)
    probe = _text(_run_cells(_server_url(site, "alice"), site["token"], "p.ipynb", [PROBE]))
    assert "WRITE SHARED SUBFOLDER REFUSED EROFS" in probe and "LIST OTHER HOME REFUSED" in probe
