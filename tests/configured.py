"""The store and its files as a Settings object configures them, for tests that look inside."""

from server.components.store import open_store, store_layout
from server.settings import Settings
from server.storage.layout import StoreLayout
from server.storage.store import ChunkStore


def configured_store(settings: Settings) -> ChunkStore:
    return open_store(settings.storage, settings.embedding)


def configured_layout(settings: Settings) -> StoreLayout:
    return store_layout(settings.storage, settings.embedding)
