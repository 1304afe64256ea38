"""The assistant a long-running door holds: a restart never leaves two threads keeping it."""

import threading
import time
from typing import Any

import pytest

from server import live


class CountingAssistant:
    """Records which thread refreshes it."""

    def __init__(self) -> None:
        self.refreshed_by: set[int] = set()

    def refresh(self) -> bool:
        self.refreshed_by.add(threading.get_ident())
        return False


def test_a_restart_during_a_slow_load_leaves_one_thread_keeping_it_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "STOP_WAIT_S", 0.1)  # the restart gives up on the busy thread
    release = threading.Event()
    assistant = CountingAssistant()

    def slow_build() -> Any:
        release.wait(10)  # a model load that outlasts the restart's wait
        return assistant

    holder = live.LiveAssistant(slow_build, refresh_seconds=0.02)
    holder.start()
    first = holder._thread
    holder.stop()
    holder.start()  # the first thread is still loading
    release.set()

    assert first is not None
    first.join(2)
    assert not first.is_alive()  # it saw its own stop signal once its load returned
    time.sleep(0.3)
    holder.stop()
    assert len(assistant.refreshed_by) == 1
    assert first.ident not in assistant.refreshed_by
