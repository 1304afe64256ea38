from pathlib import Path

import pytest

from ingest.lock import IngestBusyError, ingest_lock


def test_a_second_ingest_on_the_same_store_refuses_with_the_holder(tmp_path: Path) -> None:
    lock = tmp_path / "store" / "summit.ingest.lock"
    busy = pytest.raises(IngestBusyError, match=r"Another ingest .*process \d+")
    with ingest_lock(lock), busy, ingest_lock(lock):
        pass


def test_the_lock_is_free_again_once_the_ingest_ends(tmp_path: Path) -> None:
    lock = tmp_path / "summit.ingest.lock"
    with ingest_lock(lock):
        pass
    with ingest_lock(lock):
        assert lock.read_text().strip().isdigit()
