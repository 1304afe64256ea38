"""The documents API as a new user would try it, on a real server on 127.0.0.1 with the real
model, the shipped reader and a real Chroma store: a PDF uploaded is answered from with a
citation of it, listed, shown, deleted (then refused and gone from search); and what it
refuses: no key or a wrong one, a write from another machine with no key set, too large, an
unreadable kind, a corrupt PDF, a name that tries to climb out of the store."""

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.lock import ingest_lock
from server.components.intake import DocumentIntake
from server.httpapi.app import create_app
from server.settings import Settings
from tests.configured import configured_layout
from tests.pdfs import make_pdf
from tests.servers import running_server

pytestmark = pytest.mark.e2e

STATEMENT = "The joint statement on fisheries was signed in Gyeongju on Wednesday morning."
QUESTION = "Where was the joint statement on fisheries signed?"


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    return Settings.of(store=tmp_path / "store", refresh_seconds=0.2, **changes)


def upload(url: str, files: list[tuple[str, bytes]], **kwargs: Any) -> httpx.Response:
    sent = [("files", (name, data)) for name, data in files]
    return httpx.post(f"{url}/documents", files=sent, timeout=60, **kwargs)


def finished(url: str, job: str, timeout: float = 120, **kwargs: Any) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/jobs/{job}", timeout=10, **kwargs).json()
        if status["state"] in ("done", "failed"):
            return status  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not finish in {timeout} s")


def answer_citing(url: str, doc_id: str, timeout: float = 30) -> dict[str, Any]:
    """The answer to QUESTION once the running server has seen the new document."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.post(f"{url}/chat", json={"message": QUESTION}, timeout=60).json()
        if any(c["doc_id"] == doc_id for c in answer["citations"]) or time.monotonic() > deadline:
            return answer  # type: ignore[no-any-return]
        time.sleep(0.3)


def test_a_pdf_uploaded_is_answered_from_listed_and_deleted(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with running_server(settings) as server:
        response = upload(server.url, [("statement.pdf", make_pdf([STATEMENT]))])
        assert response.status_code == 202, response.text
        status = finished(server.url, response.json()["job"])
        assert status["state"] == "done" and status["report"]["added"] == 1
        [doc_id] = status["report"]["documents"]
        assert Path(doc_id).is_relative_to(configured_layout(settings).uploads)

        answer = answer_citing(server.url, doc_id)
        assert answer["answered"] and "Gyeongju" in answer["short_answer"]
        assert answer["citations"][0]["doc_id"] == doc_id

        listed = httpx.get(f"{server.url}/documents", params={"q": "statement"}).json()
        assert [d["id"] for d in listed["documents"]] == [doc_id] and listed["total"] == 1
        assert listed["documents"][0]["added"] is not None
        shown = httpx.get(f"{server.url}/documents/{doc_id}").json()
        assert STATEMENT in " ".join(p["text"] for p in shown["passages"])

        assert httpx.delete(f"{server.url}/documents/{doc_id}").status_code == 204
        assert httpx.get(f"{server.url}/documents/{doc_id}").status_code == 404
        assert httpx.delete(f"{server.url}/documents/{doc_id}").status_code == 404
        time.sleep(1.0)  # the running server's refresh
        after = httpx.post(f"{server.url}/chat", json={"message": QUESTION}, timeout=60).json()
        assert all(c["doc_id"] != doc_id for c in after["citations"])
        assert "Gyeongju" not in (after["short_answer"] or "")
        found = httpx.get(f"{server.url}/search", params={"q": "Gyeongju fisheries"}).json()
        assert all(r["doc_id"] != doc_id for r in found["results"])
        assert not Path(doc_id).exists()


def test_what_the_api_refuses_loses_nothing_stored(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, upload_max_file_bytes=4096)
    with running_server(settings) as server:
        before = httpx.get(f"{server.url}/documents").json()["total"]
        too_large = upload(server.url, [("big.txt", b"words " * 2000)])
        assert too_large.status_code == 413 and "detail" in too_large.json()
        binary = upload(server.url, [("report.pdf", bytes(range(256)) * 4)])
        assert binary.status_code == 415 and "detail" in binary.json()
        nothing = httpx.post(f"{server.url}/documents", data={"urls": ""})
        assert nothing.status_code == 422
        not_a_url = httpx.post(f"{server.url}/documents", data={"urls": "file:///etc/passwd"})
        assert not_a_url.status_code == 422
        corrupt = upload(server.url, [("broken.pdf", b"%PDF-1.4\n garbage that is no PDF")])
        assert corrupt.status_code == 202
        status = finished(server.url, corrupt.json()["job"])
        assert status["state"] == "done" and status["report"]["added"] == 0
        assert [s["reason"] for s in status["report"]["skipped"]]  # with its reason
        climbing = upload(server.url, [("../../etc/passwd", b"The harbour reopened in May.")])
        report = finished(server.url, climbing.json()["job"])["report"]
        [stored] = report["documents"]
        uploads = configured_layout(settings).uploads
        assert Path(stored).resolve().is_relative_to(uploads.resolve())
        assert Path(stored).name == "passwd.txt"
        assert httpx.get(f"{server.url}/documents").json()["total"] == before + 1


def test_two_uploads_at_once_both_land_and_an_ingest_running_makes_them_wait(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    with running_server(settings) as server:
        lock = configured_layout(settings).ingest_lock
        with ingest_lock(lock):  # `summit ingest` writing to the store
            first = upload(server.url, [("a.md", b"# A\n\nThe ferry to Jeju resumed.\n")])
            second = upload(server.url, [("b.md", b"# B\n\nThe bridge to Geoje opened.\n")])
            time.sleep(1.0)
            waiting = httpx.get(f"{server.url}/jobs/{first.json()['job']}").json()
            assert waiting["state"] in ("queued", "running")
        done = [finished(server.url, r.json()["job"]) for r in (first, second)]
        assert [d["state"] for d in done] == ["done", "done"], done
        reports = [d["report"] for d in done]
        assert [r["added"] for r in reports] == [1, 1]


def test_writes_need_the_key_when_one_is_set(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_key="sesame")
    key = {"Authorization": "Bearer sesame"}
    with running_server(settings, headers=key) as server:
        files = [("note.md", b"# Note\n\nThe port of Mokpo reopened.\n")]
        assert upload(server.url, files).status_code == 401
        wrong = upload(server.url, files, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        accepted = upload(server.url, files, headers=key)
        assert accepted.status_code == 202
        assert finished(server.url, accepted.json()["job"], headers=key)["state"] == "done"


def test_a_write_from_another_machine_with_no_key_set_is_forbidden(tmp_path: Path) -> None:
    # TestClient's requests come from "testclient", not from this machine's loopback.
    client = TestClient(create_app(settings_for(tmp_path)))  # no lifespan: nothing loads
    response = client.post("/documents", files=[("files", ("a.md", b"# A\n\nText.\n"))])
    assert response.status_code == 403 and "API key" in response.json()["detail"]
    assert client.delete("/documents/anything").status_code == 403
    assert not configured_layout(settings_for(tmp_path)).uploads.exists()


class _FullQueue:
    def submit(self, request: object) -> object:
        from server.ingest_jobs import JobsBusyError

        raise JobsBusyError(8)

    def stop(self) -> None:
        pass


def test_a_full_queue_is_503_with_retry_after_and_keeps_no_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_key="k")
    app = create_app(settings)
    full = DocumentIntake(settings, jobs=_FullQueue())  # type: ignore[arg-type]
    app.state.intake = lambda: full
    client = TestClient(app)  # no lifespan: nothing loads
    files = [("files", ("a.md", b"# A\n\nThe ferry to Jeju resumed.\n"))]
    response = client.post("/documents", files=files, headers={"Authorization": "Bearer k"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert "waiting" in response.json()["detail"]
    uploads = configured_layout(settings).uploads
    assert not uploads.exists() or list(uploads.iterdir()) == []
