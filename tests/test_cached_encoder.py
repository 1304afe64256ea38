import numpy as np

from server.storage.embeddings import CachedEncoder
from tests.fakes import FakeEmbedder


def test_cached_sentences_are_not_encoded_again_and_match_fresh_vectors() -> None:
    fake = FakeEmbedder()
    cache = CachedEncoder(fake, capacity=10)
    first = cache.encode(["a b", "c d"])
    again = cache.encode(["c d", "a b", "c d"])
    assert fake.embedded == ["a b", "c d"]
    np.testing.assert_allclose(again, first[[1, 0, 1]])
    np.testing.assert_allclose(first, FakeEmbedder().encode(["a b", "c d"]), atol=1e-3)


def test_the_cache_forgets_the_least_recently_used_beyond_its_capacity() -> None:
    fake = FakeEmbedder()
    cache = CachedEncoder(fake, capacity=2)
    cache.encode(["one", "two"])
    cache.encode(["one"])
    cache.encode(["three"])  # evicts "two", the least recently used
    cache.encode(["one", "two"])
    assert fake.embedded == ["one", "two", "three", "two"]


def test_concurrent_use_with_evictions_never_loses_a_vector() -> None:
    from concurrent.futures import ThreadPoolExecutor

    cache = CachedEncoder(FakeEmbedder(), capacity=5)
    batches = [[f"word{(i + j) % 40}" for j in range(8)] for i in range(400)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(cache.encode, batches))
    for batch, vectors in zip(batches, results, strict=True):
        np.testing.assert_allclose(vectors, FakeEmbedder().encode(batch), atol=1e-3)
