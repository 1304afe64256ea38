"""Storage, used by both sides and importing neither: the Chroma store, the BM25 index,
the sentence-vector file, and the embedder that makes the vectors (the ONNX export and its
cache, or sentence-transformers).

May import: server.base, server.errors.
"""
