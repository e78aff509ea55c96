"""Typed errors. Every error raised for bad user input is a :class:`TextIFError`
whose message is one line naming the file or argument and the problem."""
from __future__ import annotations


class TextIFError(Exception):
    """Base class for errors caused by the user's input or environment."""


class ImageReadError(TextIFError):
    """A file could not be read as an image."""


class SizeMismatchError(TextIFError):
    """Two images that must have the same size do not."""


class ImageWriteError(TextIFError):
    """An output file could not be written."""


class ModelNotFoundError(TextIFError):
    """A model name or folder could not be resolved."""


class UntrainedModelError(TextIFError):
    """A model without trained weights was asked to fuse real images."""


class TextEncoderError(TextIFError):
    """A text encoder could not be loaded, or does not match the fusion model."""
