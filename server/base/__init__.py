"""The vocabulary both sides share: documents and chunks, the text a chunk is indexed by, a
document's date and outlet as its metadata says them, and how text splits into sentences.

May import: nothing else of the project.
"""
