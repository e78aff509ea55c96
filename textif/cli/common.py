"""Helpers shared by the sub-commands: one-line errors instead of stack traces."""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

import typer


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn textif's user-facing errors (and unknown registry names) into one line on stderr."""
    from textif.core.errors import TextIFError

    try:
        yield
    except TextIFError as e:
        fail(str(e))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
