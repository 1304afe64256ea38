"""Measuring the read side: question sets and the strict scoring of answers over them, and
retrieval quality on a dataset in the BEIR layout.

May import: server.base, server.errors, server.contract, server.storage, server.retrieval.
"""
