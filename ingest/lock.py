"""One ingest at a time per store: a second one refuses at once with a clear message.

An advisory lock on a file beside the store (fcntl.flock): the kernel releases it when the
process ends, however it ends, so a killed ingest never leaves a stale lock behind. With a
Chroma server the lock guards the machine it runs on; ingests from several machines stay
safe because chunk ids come from content and a rerun completes what another left.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.errors import UnavailableError


class IngestBusyError(UnavailableError):
    def __init__(self, holder: str) -> None:
        who = f" (process {holder})" if holder else ""
        super().__init__(
            f"Another ingest is writing to this store{who}; wait for it to finish, then rerun."
        )


@contextmanager
def ingest_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise IngestBusyError(handle.read().strip()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
