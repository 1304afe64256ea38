"""A full disk and a read-only store under a real `summit ingest`: the real model, a real
Chroma store on a small tmpfs that the test fills or remounts read-only.

Mounting needs a private mount namespace: the scenario runs under `unshare -rm` (an
unprivileged user namespace; root needs nothing more), so nothing outside it is touched.
Where the machine allows neither, the test is skipped and says why.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
SUMMIT = Path(sys.executable).with_name("summit")
TMPFS_SIZE = "64m"
FREE_LEFT = 64 * 1024  # bytes left on the disk: the new documents need far more
NEW_DOCUMENTS = 150


def _can_mount() -> str | None:
    """None when `unshare -rm` may mount a tmpfs here, else why not."""
    if shutil.which("unshare") is None:
        return "no unshare command (util-linux)"
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True, text=True)
    return None if done.returncode == 0 else f"cannot mount a tmpfs: {done.stderr.strip()}"


def _documents(path: Path, topic: str) -> Path:
    rows = [
        {"_id": f"talks-{i}", "text": f"In session {i} the delegations discussed {topic}. " * 8}
        for i in range(NEW_DOCUMENTS)
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    return path


def _summit(*args: str) -> dict[str, Any]:
    done = subprocess.run([str(SUMMIT), *args], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout) if done.stdout.startswith("{") else None
    return {"code": done.returncode, "report": report, "stderr": done.stderr}


def _mount(*options: str) -> None:
    subprocess.run(["mount", *options], check=True)


def scenario_main(work: Path) -> None:
    """Runs inside the mount namespace; prints what each step did, as JSON."""
    disk, corpus = work / "disk", str(ROOT / "corpus")
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(disk))
    os.environ["SUMMIT_STORE"] = str(disk / "store")
    news = str(_documents(work / "news.jsonl", "trade and fisheries"))
    steps: dict[str, Any] = {"first": _summit("ingest", "--json", corpus)}
    filler = disk / "filler"
    with filler.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, shutil.disk_usage(disk).free - FREE_LEFT)
    steps["full"] = _summit("ingest", "--json", corpus, news)
    filler.unlink()
    steps["ask_after_full"] = _summit("ask", "--json", "Where was the summit held?")
    steps["rerun"] = _summit("ingest", "--json", corpus, news)
    _mount("-o", "remount,ro", str(disk))
    edited = str(_documents(work / "edited.jsonl", "farming"))
    steps["read_only"] = _summit("ingest", "--json", corpus, edited)
    _mount("-o", "remount,rw", str(disk))
    steps["writable_again"] = _summit("ingest", "--json", corpus, news)
    print(json.dumps(steps))


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = _can_mount()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("storage-faults")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
        "from tests.test_e2e_storage_faults import scenario_main; scenario_main(Path(sys.argv[2]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMIT_")}
    done = subprocess.run(
        ["unshare", "-rm", sys.executable, "-c", code, str(ROOT), str(work)],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env | {"HF_HUB_OFFLINE": "1"},
        cwd=work,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _one_clear_line(step: dict[str, Any]) -> str:
    assert step["code"] == 1, step
    lines = step["stderr"].strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in step["stderr"], step["stderr"]
    return lines[0]


def test_an_ingest_that_fills_the_disk_fails_with_a_clear_error(steps: dict[str, Any]) -> None:
    assert "disk is full" in _one_clear_line(steps["full"])


def test_after_a_full_disk_the_store_still_answers_and_a_rerun_completes(
    steps: dict[str, Any],
) -> None:
    answer = steps["ask_after_full"]["report"]
    assert steps["ask_after_full"]["code"] == 0 and "Nara" in answer["answer"]
    first, rerun = steps["first"]["report"], steps["rerun"]["report"]
    assert (rerun["added"], rerun["unchanged"]) == (NEW_DOCUMENTS, 1)
    assert rerun["chunks"] == first["chunks"] + NEW_DOCUMENTS  # one chunk a document


def test_a_read_only_store_is_named_and_loses_nothing(steps: dict[str, Any]) -> None:
    assert "read-only" in _one_clear_line(steps["read_only"])
    after, before = steps["writable_again"]["report"], steps["rerun"]["report"]
    assert after["unchanged"] == NEW_DOCUMENTS + 1 and after["chunks"] == before["chunks"]
