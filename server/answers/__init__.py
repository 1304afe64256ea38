"""The extractive answerer and what it decides with: candidate sentences and their features,
the kinds of answer asked for and the entities that state them, the trained reader, and the
learned weights with their calibrated threshold."""
