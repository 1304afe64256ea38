"""The small error vocabulary; each front door translates it once.

The message of a SummitError is written for users and may be shown to them.
"""


class SummitError(Exception):
    """An error whose message is safe and useful to show to a user."""


class EmptyQuestionError(SummitError):
    def __init__(self) -> None:
        super().__init__("The question is empty: ask something about the documents.")


class PathNotFoundError(SummitError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No such file or folder: {path}")


class StoreUnavailableError(SummitError):
    """The store cannot be opened, read or written."""


class ModelUnavailableError(SummitError):
    """The embedding model cannot be loaded."""


class NotReadyError(SummitError):
    """The assistant is still loading (transient) or failed to load."""

    def __init__(self, detail: str, transient: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.transient = transient
