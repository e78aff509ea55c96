"""Errors and warnings of the evaluation code.

Every error is a :class:`~textif.core.errors.TextIFError` whose message is one line naming the
file (or argument) and the problem. Numbers that a metric cannot define for an input (for example
the correlation of a constant image) come back as ``nan`` together with a :class:`MetricWarning`,
never as a silently substituted value.
"""
from __future__ import annotations

from textif.core.errors import ImageReadError, SizeMismatchError, TextIFError

__all__ = [
    "MetricError",
    "MetricInputError",
    "MetricSizeError",
    "MetricUnavailableError",
    "MetricWarning",
    "ImageReadError",
]


class MetricError(TextIFError):
    """Base class of the errors raised by :mod:`textif.metrics`."""


class MetricInputError(MetricError, ValueError):
    """An image or argument given to a metric is unusable (NaN, wrong shape, wrong scale, too small)."""


class MetricSizeError(MetricError, SizeMismatchError):
    """The fused image and its sources do not have the same height and width."""


class MetricUnavailableError(MetricError):
    """A metric needs something that is not present here (e.g. model weights)."""


class MetricWarning(UserWarning):
    """A metric value is ``nan`` (undefined for this input) or was computed under a documented caveat."""
