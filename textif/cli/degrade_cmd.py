"""``textif degrade`` (filled in by the degradation work)."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
