"""Connecting to Chroma: the embedded client on disk, a Chroma server's client, and the
collection a store keeps its chunks in. Every failure is a StoreUnavailableError that
says why (chromadb raises untyped errors from its Rust core and over HTTP)."""

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from server.errors import StoreUnavailableError, storage_problem

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection


# chromadb keeps one system per path and builds it unguarded: two threads opening a store at
# once (a background ingest job and a server's refresh) raced into an AttributeError.
_OPENING = threading.Lock()


def open_persistent_client(path: Path) -> "ClientAPI":
    """The embedded Chroma client on disk, or a StoreUnavailableError saying why not."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if path.exists() and not path.is_dir():
        raise StoreUnavailableError(f"The store path is a file, not a folder: {path}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with _OPENING:
            return chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
            )
    except Exception as exc:  # chromadb raises untyped errors from its Rust core
        problem = storage_problem(exc)
        if problem:
            raise StoreUnavailableError(f"Cannot open the store at {path}: {problem}.") from exc
        raise StoreUnavailableError(
            f"Cannot open the store at {path} ({type(exc).__name__}); "
            "check that it is a readable and writable Chroma store."
        ) from exc


def open_http_client(url: str, token: str | None, tenant: str, database: str) -> "ClientAPI":
    """A client of a Chroma server (`chroma run`), or a StoreUnavailableError saying why not."""
    from urllib.parse import urlparse

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parsed = urlparse(url)
    secure = parsed.scheme == "https"
    try:
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (443 if secure else 8000),
            ssl=secure,
            headers={"Authorization": f"Bearer {token}"} if token else None,
            tenant=tenant,
            database=database,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as exc:  # connection refused, bad tenant, auth: all untyped
        raise StoreUnavailableError(
            f"Cannot reach the Chroma server at {url} ({type(exc).__name__})."
        ) from exc


def forget_embedded_clients() -> None:
    """Drops Chroma's cached embedded clients: a long-lived process keeps its vector index
    in memory and does not see what another process (`summit ingest`) wrote until it
    opens the store afresh."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def open_collection(client: "ClientAPI", name: str, model_label: str) -> "Collection":
    try:
        collection = client.get_or_create_collection(
            name=name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model_label},
            embedding_function=None,
        )
    except Exception as exc:  # chromadb raises untyped errors from its Rust core
        raise StoreUnavailableError(
            f"Cannot open the collection {name!r} ({type(exc).__name__})."
        ) from exc
    built_with = (collection.metadata or {}).get("embedding_model")
    if built_with and built_with != model_label:
        raise StoreUnavailableError(
            f"This store was built with the embedding model {built_with!r}, not "
            f"{model_label!r}: use another --store, or the model it was built with."
        )
    return collection
