"""Ingests asked for by the people using a running door (files uploaded on the page or shared
in Slack, URLs pasted): each one a job, run one at a time in the background through the same
pipeline as `summit ingest`, its state and report kept for asking about later.

A job that meets another ingest of the store (`summit ingest`, `summit watch`) waits its turn
and tries again; a bound on the jobs waiting turns the next one away (JobsBusyError) rather
than letting the queue grow without end.
"""

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from server.errors import UnavailableError

log = logging.getLogger(__name__)
BUSY_RETRY_S = 2.0  # wait between tries while another ingest holds the store
_KEPT_JOBS = 1000  # finished jobs remembered; past it the oldest are forgotten

JobState = Literal["queued", "running", "done", "failed"]


@dataclass(frozen=True)
class JobRequest:
    """What to ingest: files already saved under the store's folder, and URLs to fetch."""

    files: list[Path] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


@dataclass
class Job:
    id: str
    request: JobRequest
    state: JobState = "queued"
    report: dict[str, Any] | None = None  # the ingest report's JSON, once done
    error: str | None = None  # why it failed, in words for users


class JobsBusyError(UnavailableError):
    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} ingests are already waiting; try again shortly.")
        self.retry_after_s = 10


Runner = Callable[[JobRequest], dict[str, Any]]  # the ingest, returning its report's JSON


class IngestJobs:
    def __init__(self, run: Runner, max_waiting: int, is_busy: Callable[[Exception], bool]):
        self._run = run
        self._is_busy = is_busy
        self._waiting: queue.Queue[Job] = queue.Queue(maxsize=max_waiting)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()

    def submit(self, request: JobRequest) -> Job:
        job = Job(uuid.uuid4().hex, request)
        try:
            self._waiting.put_nowait(job)
        except queue.Full:
            raise JobsBusyError(self._waiting.qsize()) from None
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > _KEPT_JOBS:
                self._jobs.popitem(last=False)
        self._start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout: float) -> Job | None:
        """The job once it finished, or as it stands after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or job.state in ("done", "failed"):
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def stop(self) -> None:
        self._stopping.set()

    def _start(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="ingest-jobs", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._waiting.get(timeout=1.0)
            except queue.Empty:
                continue
            self._run_job(job)

    def _run_job(self, job: Job) -> None:
        job.state = "running"
        while True:
            try:
                job.report = self._run(job.request)
                job.state = "done"
                return
            except Exception as exc:
                if self._is_busy(exc) and not self._stopping.is_set():
                    time.sleep(BUSY_RETRY_S)  # another ingest writes: wait our turn
                    continue
                log.warning("ingest job %s failed: %r", job.id, exc)
                job.error = _users_words(exc)
                job.state = "failed"
                return


def _users_words(exc: Exception) -> str:
    from server.errors import SummitError

    if isinstance(exc, SummitError):
        return str(exc)
    return f"The ingest failed ({type(exc).__name__}); nothing already stored was lost."
