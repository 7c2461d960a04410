class ExpressionError(Exception):
    """A template or expression that cannot be parsed or evaluated.

    `position` is the 0-based offset in the template text (or the bare expression), or None.
    `path` is set by render() to where the failing string sits in the rendered value.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position
        self.path = ""

    def at(self, position: int) -> "ExpressionError":
        # Helpers raise without knowing where they were called from; the innermost expression
        # node that does know fills the position in on the way out.
        if self.position is None:
            self.position = position
            self.args = (self.message, position)
        return self

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} at position {self.position}"
