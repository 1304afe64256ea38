"""Finding the passages: the store and its BM25 index loaded as one value, hybrid search
(dense + BM25, fused), which documents a date window holds, and the corpus's latest headlines.

May import: server.base, server.errors, server.storage.
"""
