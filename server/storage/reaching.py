"""How the store failing becomes an error a user can read: a store that stopped answering
(a Chroma server gone, a disk error) is a clear, retryable error; a request Chroma refuses as
malformed is a fault of this program, said so, never blamed on the store."""

from collections.abc import Iterator
from contextlib import contextmanager

from server.errors import StoreUnavailableError, SummitError, store_write_error


@contextmanager
def reaching_store() -> Iterator[None]:
    """A store that stopped answering (a Chroma server gone, a disk error) is a clear,
    retryable error, not a crash. A request Chroma refuses as malformed is not the store
    failing: it is said so, never blamed on the store."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except Exception as exc:  # chromadb raises untyped errors from its Rust core and HTTP
        if _refused_as_malformed(exc):
            raise RefusedRequestError(type(exc).__name__) from exc
        otherwise = f"The store is not answering ({type(exc).__name__}); try again shortly."
        raise store_write_error(exc, otherwise) from exc


# chromadb.errors' names for a request it will never take as sent, whatever the store's state
# (told by name: importing chromadb.errors imports all of chromadb).
_MALFORMED = frozenset(
    {
        "DuplicateIDError",
        "IDAlreadyExistsError",
        "InvalidArgumentError",
        "InvalidDimensionException",
        "BatchSizeExceededError",
    }
)


def _refused_as_malformed(exc: Exception) -> bool:
    return type(exc).__module__.startswith("chromadb") and type(exc).__name__ in _MALFORMED


class RefusedRequestError(SummitError):
    def __init__(self, kind: str) -> None:
        super().__init__(
            f"summit-assistant made a request the vector index refused ({kind}): a fault of "
            "this program, not of the store; what was stored before is kept. Please report it."
        )
