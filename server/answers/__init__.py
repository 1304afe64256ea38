"""Answers from passages: the candidate sentences and their cheap preselection, the trained
reader that reads each with the question (its weights, tokenizer and calibrated threshold
ship here), and the answer composed from the sentences it chooses.

Imports the base, storage, retrieval and the shared vocabulary (models, prompts, errors);
never a front door, the composition root or the write side."""
