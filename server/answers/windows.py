"""What the reader reads: a candidate sentence with its title and a little context.

One definition for training (tests/tuning/train_reader.py) and answering, so the model
reads at run time exactly what it learned from. The sentence comes first, so that when the
pair is too long for the model, truncation cuts the context and never the sentence.
"""

from dataclasses import dataclass

MAX_TOKENS = 128  # word pieces of question and window together
CONTEXT_SEPARATOR = " [SEP] "  # the tokenizer reads it as its separator token


@dataclass(frozen=True)
class Window:
    """A candidate sentence and what stands around it in its passage."""

    sentence: str
    title: str = ""
    before: str = ""  # the sentence before it, if any
    after: str = ""  # the sentence after it, if any

    def text(self) -> str:
        """The second segment of the reader's pair: the sentence, then its context."""
        context = " ".join(part for part in (self.title, self.before, self.after) if part)
        return self.sentence + (CONTEXT_SEPARATOR + context if context else "")


def windows_of(sentences: list[str], title: str = "") -> list[Window]:
    """Each sentence of one passage with its neighbours as context."""
    return [
        Window(
            sentence=sentence,
            title=title,
            before=sentences[i - 1] if i > 0 else "",
            after=sentences[i + 1] if i + 1 < len(sentences) else "",
        )
        for i, sentence in enumerate(sentences)
    ]
