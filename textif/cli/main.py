"""The ``textif`` command. Each sub-command lives in its own module with a ``register(app)``."""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="textif",
    help="Text-guided, degradation-aware infrared-visible image fusion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "textif.cli.fuse_cmd",
    "textif.cli.models_cmd",
    "textif.cli.eval_cmd",
    "textif.cli.degrade_cmd",
    "textif.cli.train_cmd",
    "textif.cli.serve_cmd",
    "textif.cli.export_cmd",
    "textif.cli.detect_cmd",
)

for _mod in _COMMAND_MODULES:
    importlib.import_module(_mod).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
