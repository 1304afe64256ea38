"""Language models: the chat-model backends, answers they write with every sentence checked
against the passages it cites, and follow-ups turned into standalone questions (by the model,
or by rule when there is none).

May import: server.base, server.errors, server.contract, server.prompts, server.settings,
server.storage, server.retrieval, server.answers.
"""
