"""The issue's acceptance run against an OpenAI-compatible server no one here wrote:
fakellm (PyPI), a scripted mock of the OpenAI API, started on loopback by the test. Its rule
answers only when the request holds the passage saying where the summit was held, so a
`mode: "llm"` answer shows the retrieved passages reached the model."""

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from server.cli import app
from server.contract import Answer

pytestmark = pytest.mark.e2e
INVENTED = "Both leaders also visited the Osaka Expo site on the second day."
CONFIG = f"""version: 1
defaults:
  fallback: deterministic_echo
rules:
  - name: invented_sentence
    when:
      messages_contain: "Expo"
    respond:
      content: "The summit was held in Nara, Japan [1]. {INVENTED}"
  - name: grounded
    when:
      messages_contain: "held in Nara"
    respond:
      content: "The summit was held in Nara, Japan [1][12]."
"""


@pytest.fixture(scope="module")
def fakellm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Beside this interpreter (an unactivated venv), else on PATH.
    beside = Path(sys.executable).with_name("fakellm")
    executable = str(beside) if beside.exists() else shutil.which("fakellm")
    assert executable, "fakellm is a test dependency (pip install -e '.[test]')"
    folder = tmp_path_factory.mktemp("fakellm")
    (folder / "fakellm.yaml").write_text(CONFIG)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [executable, "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield f"{url}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def ask(question: str, url: str, store: Path, monkeypatch: pytest.MonkeyPatch) -> Answer:
    monkeypatch.setenv("SUMMIT_LLM", "openai")
    monkeypatch.setenv("SUMMIT_LLM_BASE_URL", url)
    monkeypatch.setenv("SUMMIT_LLM_MODEL", "gpt-4o-mini")
    result = CliRunner().invoke(app, ["ask", question, "--json", "--store", str(store)])
    assert result.exit_code == 0, result.stderr
    return Answer.model_validate_json(result.stdout)


def test_the_answer_is_written_by_the_model_and_cites_the_passage_naming_nara(
    fakellm_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = ask("Where was the summit held?", fakellm_url, tmp_path / "s", monkeypatch)
    assert answer.mode == "llm" and answer.answered and "Nara" in answer.answer
    assert "[12]" not in answer.answer, "a marker to a passage that does not exist is gone"
    assert answer.citations and all("Nara" in c.text for c in answer.citations)
    assert all(f"[{c.n}]" in answer.answer for c in answer.citations)


def test_an_invented_sentence_comes_back_in_dropped(
    fakellm_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = ask("Did the leaders visit the Expo?", fakellm_url, tmp_path / "s", monkeypatch)
    assert INVENTED not in answer.answer and answer.dropped == [INVENTED]
