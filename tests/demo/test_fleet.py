"""The notebook fleet: a local Redis and worker processes that never outlive their parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit._engine.errors import StorageError
from toolkit.fleet_demo import LocalRedis

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys, time
from toolkit.fleet_demo import FleetWorkers, LocalRedis
local = LocalRedis(sys.argv[1]).start()
workers = FleetWorkers(local.url, "demo", 2).start()
while len({r["worker"] for r in list(workers.reports)}) < 2:
    time.sleep(0.02)
print(json.dumps([local.process.pid, *workers.pids]), flush=True)
if sys.argv[2] == "raise":
    raise RuntimeError("the notebook failed half-way")
time.sleep(60)
"""


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_parent(binary: str, mode: str) -> tuple[subprocess.Popen[str], list[int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, binary, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line, parent.stderr.read() if parent.stderr else ""
    return parent, json.loads(line)


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def test_processes_end_when_the_parent_fails(redis_server_binary: str) -> None:
    parent, pids = start_parent(redis_server_binary, "raise")
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == 1 and "the notebook failed half-way" in err
    assert wait_gone(pids) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_processes_end_when_the_parent_is_killed(redis_server_binary: str) -> None:
    parent, pids = start_parent(redis_server_binary, "sleep")
    parent.send_signal(signal.SIGKILL)  # no atexit, no finally: the kernel tells the children
    parent.communicate(timeout=30)
    assert wait_gone(pids) == []


def test_missing_redis_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="apt-get install redis-server"):
        LocalRedis(str(tmp_path / "no-such-redis-server")).start()


def test_local_redis_starts_answers_and_stops(redis_server_binary: str) -> None:
    with LocalRedis(redis_server_binary) as local:
        assert local.url.startswith("redis://127.0.0.1:") and "stopped" not in repr(local)
        assert local.process is not None
        pid = local.process.pid
    assert wait_gone([pid]) == [] and "stopped" in repr(local)


def test_workers_import_the_toolkit_of_the_process_that_starts_them(tmp_path: Path) -> None:
    # A copy of the package, imported by path: the workers' environment must lead them to
    # this copy, not to whatever toolkit is installed.
    import shutil

    shutil.copytree(ROOT / "toolkit", tmp_path / "toolkit")
    script = (
        "import subprocess, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from toolkit._demo.fleet import worker_env\n"
        "child = 'import toolkit; print(toolkit.__file__)'\n"
        "out = subprocess.run([sys.executable, '-c', child], env=worker_env(), cwd='/',\n"
        "                     capture_output=True, text=True, check=True)\n"
        "print(out.stdout.strip())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == tmp_path / "toolkit" / "__init__.py"
