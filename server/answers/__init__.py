"""The extractive answerer and what it decides with: what a question is about, candidate
sentences and their features, the kinds of answer asked for and the entities that state them,
the trained reader, and the learned weights with their calibrated threshold.

May import: server.base, server.errors, server.models, server.plaintext, server.prompts,
server.storage, server.retrieval.
"""
