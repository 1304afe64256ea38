"""End to end with a real Chroma server (`chroma run` from the chromadb package, loopback)
and real `summit` processes: the command line and `summit serve` over the server, two
servers answering alike, ingest while serving (server and embedded store), and the Chroma
server stopped and restarted under a running `summit serve`.

A Chroma server already running may be named in SUMMIT_TEST_CHROMA_URL; without it (as in
the README's test command) the tests start their own. Each test uses a collection of its
own on the shared server."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
SHARED_URL = os.environ.get("SUMMIT_TEST_CHROMA_URL", "")  # read before conftest clears it
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, timeout: float = START_TIMEOUT_S, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer {status}")


class ChromaProcess:
    """`chroma run` on a loopback port, started at once and ready on return."""

    def __init__(self, path: Path, port: int) -> None:
        command = [str(BIN / "chroma"), "run", "--path", str(path)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(f"{self.url}/api/v2/heartbeat")
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)


@contextmanager
def chroma_server(path: Path, port: int) -> Iterator[str]:
    chroma = ChromaProcess(path, port)
    try:
        yield chroma.url
    finally:
        chroma.stop()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if SHARED_URL:
        yield SHARED_URL
        return
    with chroma_server(tmp_path_factory.mktemp("chroma"), free_port()) as url:
        yield url


def summit_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMIT_")}
    env.update(HF_HUB_OFFLINE="1", SUMMIT_STORE=str(tmp_path / "local"))
    env.update({f"SUMMIT_{k.upper()}": v for k, v in settings.items()})
    return env


def summit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "summit"), *args], env=env, capture_output=True, text=True, timeout=600
    )


@contextmanager
def serving(env: dict[str, str], cwd: Path) -> Iterator[str]:
    port = free_port()
    command = [str(BIN / "summit"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/readyz", timeout=300)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/chat", json={"message": question}, timeout=60)


def server_env(tmp_path: Path, chroma_url: str, **extra: str) -> dict[str, str]:
    collection = f"t-{uuid.uuid4().hex[:12]}"
    return summit_env(
        tmp_path, chroma_url=chroma_url, collection=collection, rate_limit_per_minute="0", **extra
    )


def test_ingest_ask_and_status_work_against_the_chroma_server(
    chroma_url: str, tmp_path: Path
) -> None:
    env = server_env(tmp_path, chroma_url)
    ingest = summit(env, "ingest", "--json")
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 1
    again = json.loads(summit(env, "ingest", "--json").stdout)
    assert again["added"] == 0 and again["unchanged"] == 1, "idempotent on the server too"
    answer = json.loads(summit(env, "ask", "--json", "Where was the summit held?").stdout)
    assert answer["answered"] and "Nara" in answer["answer"]
    assert any("Nara" in c["text"] for c in answer["citations"])
    status = json.loads(summit(env, "status", "--json").stdout)
    assert status["store"].startswith(chroma_url) and status["documents"] == 1
    assert not (tmp_path / "local" / "chroma.sqlite3").exists(), "nothing embedded on disk"


def test_two_servers_over_one_chroma_server_answer_identically(
    chroma_url: str, tmp_path: Path
) -> None:
    env = server_env(tmp_path, chroma_url)
    assert summit(env, "ingest").returncode == 0
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    with (
        serving({**env, "SUMMIT_STORE": str(first_dir)}, first_dir) as first,
        serving({**env, "SUMMIT_STORE": str(second_dir)}, second_dir) as second,
    ):
        for question in ["Where was the summit held?", "What will DNA analysis be used for?"]:
            assert ask(first, question).json() == ask(second, question).json()


NEW_DOCUMENT = (
    "# Follow-up talks\n\nThe two foreign ministers will meet in Busan next month to prepare "
    "a fisheries agreement.\n"
)
NEW_QUESTION = "Where will the foreign ministers meet?"


def ingest_while_asking(env: dict[str, str], url: str, docs: Path) -> list[int]:
    """Ingests a new document while a client keeps asking; returns the status codes."""
    statuses: list[int] = []
    done = threading.Event()

    def keep_asking() -> None:
        while not done.is_set():
            statuses.append(ask(url, "Where was the summit held?").status_code)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        result = summit(env, "ingest", str(docs))
        assert result.returncode == 0, result.stderr
    finally:
        done.set()
        asker.join()
    return statuses


def wait_until_answered(url: str, question: str, needle: str, timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        answer = ask(url, question).json()
        if answer["answered"] and needle in answer["answer"]:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"the new document was not used within {timeout} s")


@pytest.mark.parametrize("backend", ["chroma-server", "embedded"])
def test_a_running_server_picks_up_an_ingest_without_a_restart(
    chroma_url: str, tmp_path: Path, backend: str
) -> None:
    if backend == "embedded":
        env = summit_env(tmp_path, rate_limit_per_minute="0", refresh_seconds="1")
        env["SUMMIT_STORE"] = str(tmp_path / "store")
    else:
        env = server_env(tmp_path, chroma_url, refresh_seconds="1")
    assert summit(env, "ingest").returncode == 0
    docs = tmp_path / "news"
    docs.mkdir()
    (docs / "follow-up.md").write_text(NEW_DOCUMENT)
    with serving(env, tmp_path) as url:
        assert "Busan" not in json.dumps(ask(url, NEW_QUESTION).json())
        statuses = ingest_while_asking(env, url, docs)
        assert statuses and set(statuses) == {200}, "no request failed during the ingest"
        wait_until_answered(url, NEW_QUESTION, "Busan")
        old = ask(url, "Where was the summit held?").json()
        assert old["answered"] and "Nara" in old["answer"]


def test_a_stopped_chroma_server_gives_503s_then_answers_again_after_its_return(
    tmp_path: Path,
) -> None:
    port, data = free_port(), tmp_path / "chroma"
    chroma = ChromaProcess(data, port)
    try:
        env = server_env(tmp_path, chroma.url)
        assert summit(env, "ingest").returncode == 0
        with serving(env, tmp_path) as url:
            assert ask(url, "Where was the summit held?").status_code == 200
            chroma.stop()
            response = ask(url, "Where was the summit held?")
            assert response.status_code == 503
            assert "not answering" in response.json()["detail"]
            assert httpx.get(f"{url}/healthz").status_code == 200
            chroma = ChromaProcess(data, port)
            answer = ask(url, "Where was the summit held?")
            assert answer.status_code == 200 and "Nara" in answer.json()["answer"]
    finally:
        chroma.stop()


def test_two_ingests_at_once_one_refuses_with_a_clear_message(tmp_path: Path) -> None:
    env = summit_env(tmp_path)
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(
            json.dumps({"_id": str(i), "text": f"Report {i} says the delegates met {i} times."})
            + "\n"
            for i in range(1500)
        )
    )
    command = [str(BIN / "summit"), "ingest", str(big)]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as first:
        lock = tmp_path / "local" / "lexical" / "summit.ingest.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = summit(env, "ingest", str(big))
        assert first.wait(timeout=600) == 0
    assert second.returncode == 1 and second.stderr.count("\n") == 1
    assert "Another ingest is writing to this store" in second.stderr


def test_an_empty_collection_of_a_chroma_server_is_not_filled_with_the_demo_article(
    tmp_path: Path, chroma_url: str
) -> None:
    env = server_env(tmp_path, chroma_url)
    asked = summit(env, "ask", "Where was the summit held?", "--json")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["answered"] is False
    assert "is empty" in asked.stderr and "summit ingest" in asked.stderr
    status = json.loads(summit(env, "status", "--json").stdout)
    assert (status["documents"], status["chunks"]) == (0, 0)
