"""`pip install .` without -e: the built wheel carries the corpus, the prompts and the
server's other data files, and the `summit` it installs answers from them, run away from
the source tree. One wheel build, one fresh venv, one question."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
# Installed into the project's venv already: the fresh venv borrows them instead of
# downloading them again. Only the path goes in, so the editable install's finder
# (a .pth file there) stays inactive and `server` can only come from the wheel.
DEPENDENCIES = Path(sysconfig.get_paths()["purelib"])
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "tests", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@dataclass
class Installed:
    wheel: Path
    prefix: Path

    def bin(self, name: str) -> str:
        return str(self.prefix / "bin" / name)


def clean_env() -> dict[str, str]:
    """No SUMMIT_* setting, and no PYTHONPATH that would put the source tree first."""
    hidden = {"PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in hidden and not k.startswith("SUMMIT_")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def build_wheel(folder: Path) -> Path:
    """Built from a copy, so the build leaves no build/ or egg-info in the work tree."""
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    options = ["--no-deps", "--no-build-isolation", "--no-index", "-w", str(folder)]
    subprocess.run([*pip, "wheel", str(source), *options], check=True, env=clean_env())
    (wheel,) = folder.glob("summit_assistant-*.whl")
    return wheel


def install_into_fresh_venv(wheel: Path, prefix: Path) -> None:
    venv.EnvBuilder(with_pip=False).create(prefix)
    site = Path(sysconfig.get_path("purelib", vars={"base": prefix, "platbase": prefix}))
    (site / "project_dependencies.pth").write_text(f"{DEPENDENCIES}\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    target = ["--python", str(prefix / "bin" / "python")]
    # --ignore-installed: pip leaves the project venv's editable install alone.
    options = ["--no-deps", "--no-index", "--ignore-installed"]
    subprocess.run([*pip, *target, "install", *options, str(wheel)], check=True, env=clean_env())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    folder = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(folder)
    install_into_fresh_venv(wheel, folder / "venv")
    return Installed(wheel, folder / "venv")


def data_files_in_the_tree() -> set[str]:
    """Wheel paths of every file that is not Python source: the corpus and the prompts
    under server/bundled/, and the server's own (the page, the answer model, the Slack
    manifest, the API docs' assets) where they are."""
    expected = set()
    for folder in ("corpus", "prompts"):
        expected |= {f"server/bundled/{p.relative_to(ROOT).as_posix()}" for p in files(folder)}
    expected |= {p.relative_to(ROOT).as_posix() for p in files("server") if p.suffix != ".py"}
    return expected


def files(folder: str) -> list[Path]:
    found = (ROOT / folder).rglob("*")
    return [p for p in found if p.is_file() and "__pycache__" not in p.parts]


def test_the_wheel_carries_every_module(installed: Installed) -> None:
    """pyproject.toml lists the packages by name: a new one left out would be missing."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    modules = {
        p.relative_to(ROOT).as_posix()
        for folder in ("ingest", "server")
        for p in files(folder)
        if p.suffix == ".py"
    }
    assert modules - names == set()


def test_the_wheel_carries_every_data_file(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert "server/httpapi/static/index.html" in data_files_in_the_tree()
    assert data_files_in_the_tree() - names == set()


def test_the_installed_summit_reads_the_wheel_not_the_source_tree(
    installed: Installed, tmp_path: Path
) -> None:
    code = (
        "import server, server.settings as s; d = s.Settings(); "
        "print(server.__file__, d.storage.corpus_dir, d.answers.prompts_dir, sep='\\n')"
    )
    run = subprocess.run(
        [installed.bin("python"), "-c", code],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    paths = [Path(line) for line in run.stdout.splitlines()]
    assert all(path.is_relative_to(installed.prefix) for path in paths), run.stdout
    assert (paths[1] / "nara-summit.md").is_file() and (paths[2] / "empty_store.txt").is_file()


def test_the_installed_summit_answers_from_the_bundled_corpus(
    installed: Installed, tmp_path: Path
) -> None:
    question = ["ask", "Where was the summit held?", "--json", "--store", str(tmp_path / "s")]
    run = subprocess.run(
        [installed.bin("summit"), *question],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["answered"] and "Nara" in answer["answer"]
