"""The vocabulary both sides share: documents and chunks, the text a chunk is indexed by,
and how text splits into sentences. It imports nothing of the project."""
