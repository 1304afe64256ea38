"""Files shared with the bot (in a DM, or in a thread where it is mentioned) become documents:
downloaded with the bot token from `url_private_download` (size-capped), kept under the
store's folder and ingested as `summit ingest` would, and the bot says in the thread what was
added or why not. Only the people SUMMIT_SLACK_UPLOADERS names may add documents.
"""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from server.settings import SlackSettings
from server.slack.blocks import notice_message
from server.slack.streaming import Thread, post_message

if TYPE_CHECKING:
    from server.components.intake import DocumentIntake

log = logging.getLogger(__name__)
Json = dict[str, Any]
INGEST_WAIT_S = 600.0  # longest a reply waits for its ingest
_DOWNLOAD_TIMEOUT_S = 30.0
NOT_ALLOWED = "Sorry, you can't add documents here; ask whoever runs the assistant."
FAILED = "Sorry, the files could not be added; nothing already stored was lost."


class SharedFiles:
    def __init__(
        self,
        settings: SlackSettings,
        max_file_bytes: int,
        intake: "Callable[[], DocumentIntake]",
    ) -> None:
        self._max_file_bytes = max_file_bytes
        self._intake = intake  # shared with the HTTP door when both run in one server
        token = settings.slack_bot_token
        self._token = token.get_secret_value() if token else ""
        named = settings.slack_uploaders.replace(",", " ").split()
        self._everyone = "*" in named
        self._uploaders = frozenset(named)

    def may_add(self, user: str | None) -> bool:
        return self._everyone or (user is not None and user in self._uploaders)

    def take(self, client: Any, thread: Thread, event: Json) -> None:
        """Adds the event's files and replies in the thread with what happened."""
        if not self.may_add(event.get("user")):
            post_message(client, thread, notice_message(NOT_ALLOWED))
            return
        try:
            lines = self._add(event.get("files") or [])
        except Exception:  # the person gets a polite reply; the log gets the cause
            log.exception("files shared in Slack were not added")
            lines = [FAILED]
        post_message(client, thread, notice_message("\n".join(lines)))

    def _add(self, files: list[Json]) -> list[str]:
        from ingest.uploads import UnreadableUploadError

        lines: list[str] = []
        saved = []
        for shared in files:
            name = str(shared.get("name") or "file")
            try:
                data = self._download(shared)
                saved += self._intake().save([(name, data)])
            except (UnreadableUploadError, DownloadError) as exc:
                lines.append(f"Not added: {name} ({_reason(exc)}).")
        if saved:
            job = self._intake().submit(saved)
            done = self._intake().jobs.wait(job.id, INGEST_WAIT_S)
            report, error = (done.report, done.error) if done else (None, None)
            lines.insert(0, _report_line(report, error))
        return lines

    def _download(self, shared: Json) -> bytes:
        limit = self._max_file_bytes
        url = shared.get("url_private_download") or shared.get("url_private")
        if not url:
            raise DownloadError("Slack gave no link to it")
        if int(shared.get("size") or 0) > limit:
            raise DownloadError(f"over {limit} bytes")
        headers = {"Authorization": f"Bearer {self._token}"}
        data = bytearray()
        try:
            with httpx.stream(
                "GET", str(url), headers=headers, timeout=_DOWNLOAD_TIMEOUT_S,
                follow_redirects=True,
            ) as response:  # fmt: skip
                if response.status_code != 200:
                    raise DownloadError(f"Slack answered {response.status_code}")
                for piece in response.iter_bytes():
                    data += piece
                    if len(data) > limit:
                        raise DownloadError(f"over {limit} bytes")
        except httpx.HTTPError as exc:
            raise DownloadError("it could not be downloaded") from exc
        return bytes(data)


class DownloadError(Exception):
    """Why a shared file was not fetched, in a few words for the person who shared it."""


def _reason(exc: Exception) -> str:
    from ingest.uploads import UnreadableUploadError

    if isinstance(exc, UnreadableUploadError):
        return "not a kind of file I can read: PDF, HTML, Markdown, text or JSON Lines"
    return str(exc)


def _report_line(report: dict[str, Any] | None, error: str | None) -> str:
    if report is None:
        return error or "The files are still being added; ask about them in a few minutes."
    added = int(report.get("added", 0)) + int(report.get("updated", 0))
    said = [f"Added {added} document{'s' if added != 1 else ''}; you can ask about it now."]
    if not added:
        said = ["No new document was added."]
    copies = len(report.get("duplicates", [])) + len(report.get("near_duplicates", []))
    if copies:
        said.append(f"{copies} already held (a copy).")
    for skipped in report.get("skipped", []):
        said.append(f"Not added: {skipped['path'].rsplit('/', 1)[-1]} ({skipped['reason']}).")
    return " ".join(said)
