"""Documents added through the doors (the page, the API, Slack shares): uploads kept under
the store's folder, then ingested with any URLs as background jobs, one at a time. Light to
import: the ingest's parts load with the first job, so a server listens at once."""

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.lock import IngestBusyError
from ingest.uploads import save_upload
from ingest.web.sources import Sources
from server.errors import UnavailableError
from server.ingest_jobs import IngestJobs, Job, JobRequest
from server.settings import Settings


class DocumentIntake:
    """Documents added through the doors (the page, the API, Slack shares): uploads kept
    under the store's folder, then ingested with any URLs as background jobs through
    `summit ingest`'s pipeline, one at a time. One intake serves every door of a process."""

    def __init__(self, settings: Settings, jobs: IngestJobs | None = None) -> None:
        self._settings = settings
        self._jobs = jobs
        self._lock = threading.Lock()

    @property
    def jobs(self) -> IngestJobs:
        """The background ingests, made on first use (the ingest's parts load then)."""
        with self._lock:
            if self._jobs is None:
                self._jobs = _ingest_jobs(self._settings)
            return self._jobs

    def save(self, files: list[tuple[str, bytes]]) -> list[Path]:
        """Each (name, content) saved under the store's folder; an UnreadableUploadError
        for a kind of file no loader reads (then nothing is saved)."""
        from ingest.uploads import suffix_for

        for name, data in files:
            suffix_for(name, data)  # every file checked before any is saved
        folder = uploads_folder(self._settings)
        return [save_upload(folder, name, data) for name, data in files]

    def submit(self, saved: list[Path], urls: Sequence[str] = ()) -> Job:
        """The saved uploads and the URLs as a background job; when no job can be taken
        (JobsBusyError), the uploads are not kept either, so no later rebuild ingests them."""
        try:
            return self.jobs.submit(JobRequest(files=saved, urls=list(urls)))
        except UnavailableError:
            _discard_uploads(self._settings, saved)
            raise

    def stop(self) -> None:
        with self._lock:
            if self._jobs is not None:
                self._jobs.stop()


def _discard_uploads(settings: Settings, saved: list[Path]) -> None:
    """Uploads that will not be ingested after all: their folders go."""
    uploads = uploads_folder(settings).resolve()
    for path in saved:
        if path.resolve().parent.parent == uploads:
            shutil.rmtree(path.parent, ignore_errors=True)


def _ingest_jobs(settings: Settings) -> IngestJobs:
    """One waits while another ingest of the store runs (`summit ingest`, `summit watch`)."""

    from server.components import ingest

    def run(request: JobRequest) -> dict[str, Any]:
        report = ingest(settings, request.files, web=Sources(urls=list(request.urls)))
        return report.as_json()

    max_waiting = settings.ingest.upload_max_waiting_jobs
    return IngestJobs(run, max_waiting, lambda exc: isinstance(exc, IngestBusyError))


def uploads_folder(settings: Settings) -> Path:
    """The folder uploads are kept in, beside the store's files."""
    from server.components.store import store_layout

    return store_layout(settings.storage, settings.embedding).uploads
