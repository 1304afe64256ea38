"""What the reader reads of a candidate: the sentence and its document's title.

One definition for training (tests/tuning/train_reader.py) and answering, so the model
reads at run time exactly what it learned from. The sentence comes first, so that when the
pair is too long for the model, truncation cuts the title and never the sentence.

Neighbouring sentences are not read: a window holding them holds its neighbour's answer
too, and a reader trained so (the first one, 2 epochs) put the answer sentence of the gold
paragraph first for only 549 of 800 validation questions (README, "The reader").
"""

from dataclasses import dataclass

MAX_TOKENS = 128  # word pieces of question and window together
TITLE_SEPARATOR = " [SEP] "  # the tokenizer reads it as its separator token


@dataclass(frozen=True)
class Window:
    """A candidate sentence and the title of the document it comes from."""

    sentence: str
    title: str = ""

    def text(self) -> str:
        """The second segment of the reader's pair: the sentence, then the title."""
        return self.sentence + (TITLE_SEPARATOR + self.title if self.title else "")


def windows_of(sentences: list[str], title: str = "") -> list[Window]:
    """The sentences of one passage as the reader reads them."""
    return [Window(sentence, title) for sentence in sentences]
