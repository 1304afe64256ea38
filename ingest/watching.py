"""`summit watch`: one ingest a round, every `interval` seconds, until stopped.

A plain loop, not a scheduler: there is one job, run in this process, and a round that
overruns the interval is followed at once by the next instead of overlapping it (an ingest
takes the store's lock anyway). Ctrl-C ends the loop between or inside rounds; an ingest
stopped midway loses nothing (ingest/pipeline.py) and the next round finishes its work.
"""

import time
from collections.abc import Callable

from ingest.report import IngestReport
from server.errors import UnavailableError

# (round number, its report or None, the problem that stopped it or None)
RoundCallback = Callable[[int, IngestReport | None, str | None], None]


def follow(
    run_round: Callable[[], IngestReport],
    interval: float,
    rounds: int | None,
    on_round: RoundCallback,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Runs rounds until `rounds` are done (None: until interrupted); returns how many ran.

    A store that stops answering fails a round, not the watch: the next round tries again.
    A mistake in what is followed (a folder gone) is the user's to fix, and ends it."""
    number = 0
    try:
        while rounds is None or number < rounds:
            number += 1
            started = clock()
            try:
                on_round(number, run_round(), None)
            except UnavailableError as exc:
                on_round(number, None, str(exc))
            if rounds is not None and number >= rounds:
                break
            sleep(max(0.0, interval - (clock() - started)))
    except KeyboardInterrupt:
        pass
    return number
