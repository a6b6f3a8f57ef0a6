"""Errors of the expression language: one class, with the offset where the problem is."""

from __future__ import annotations


class ExpressionError(ValueError):
    """An expression that is not allowed, too large, or that cannot be evaluated.

    ``pos`` is the 0-based offset in the source text, when the problem has one.
    """

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return self.message if self.pos is None else f"{self.message} (at character {self.pos + 1})"


class ExpressionSyntaxError(ExpressionError):
    """Text that is not in the grammar."""


class ExpressionLimitError(ExpressionError):
    """An expression or a value past one of the limits (:mod:`pypeline.core.expr.limits`)."""
