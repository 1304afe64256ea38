"""The extractive answerer: the span reader (its windows, its spans, the ONNX graph it runs),
the kind of fact a question asks for, and the answer composed from the reader's decision.

May import: server.base, server.errors, server.contract, server.plaintext, server.prompts,
server.storage, server.retrieval.
"""
