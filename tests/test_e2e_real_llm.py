"""Optional: the whole path against a real local language model, when one is configured.

Either point at any running OpenAI-compatible server:
    LLM_TEST_BASE_URL=http://127.0.0.1:8080/v1 LLM_TEST_MODEL=name pytest tests/test_e2e_real_llm.py
or name a GGUF file, and llama-cpp-python's server (pip install 'llama-cpp-python[server]') is
started on loopback for the test:
    LLM_TEST_GGUF=/models/qwen2.5-0.5b-instruct-q4_k_m.gguf pytest tests/test_e2e_real_llm.py
Skipped otherwise. (Not SUMMIT_* names: the test fixtures clear those.)
"""

import importlib.util
import os
import re
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

GGUF = os.environ.get("LLM_TEST_GGUF", "")
BASE_URL = os.environ.get("LLM_TEST_BASE_URL", "")
MODEL = os.environ.get("LLM_TEST_MODEL", "local")
START_TIMEOUT_S = 300

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (BASE_URL or GGUF), reason="no local model configured (LLM_TEST_BASE_URL or _GGUF)"
    ),
]


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    if BASE_URL:
        yield BASE_URL
        return
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("LLM_TEST_GGUF is set but llama-cpp-python is not installed")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", GGUF]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_serving(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError("the local model server did not start")


def test_a_real_model_answers_with_verified_citations(
    model_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "LLM": "openai",
        "LLM_BASE_URL": model_url,
        "LLM_MODEL": MODEL,
        "LLM_TIMEOUT": "240",
    }.items():
        monkeypatch.setenv(f"SUMMIT_{name}", value)
    result = CliRunner().invoke(
        app, ["ask", "Where was the summit held?", "--json", "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.stderr
    answer = Answer.model_validate_json(result.stdout)
    assert answer.mode == "llm", answer.notice
    assert "Nara" in answer.answer
    cited = {c.n for c in answer.citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)} == cited
