"""Process-wide memory settings for the long-running doors (`summit serve`, `summit slack`).

glibc gives each thread that allocates its own malloc arena, up to eight per core, and
keeps what each arena once held. A server answers on a pool of threads (uvicorn's, Slack's),
so its memory grows by arenas it rarely reuses: with two, `summit serve` at 100k chunks
peaked about 50 MB lower under load (docs/deployment.md, "Memory").
"""

import ctypes
import ctypes.util
import os

_M_ARENA_MAX = -8  # glibc's malloc.h
SERVER_ARENAS = 2


def limit_malloc_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Caps glibc's malloc arenas for threads started from now on; whether it took effect.
    MALLOC_ARENA_MAX in the environment, read by glibc itself at start, wins; a C library
    other than glibc is left alone."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
