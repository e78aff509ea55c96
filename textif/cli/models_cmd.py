"""``textif models``: the registered presets and which ones ship trained weights."""
from __future__ import annotations

import typer


def models() -> None:
    """List model presets, their size, text encoder and whether trained weights ship with textif."""
    from textif.inference.fuser import DEFAULT_MODEL
    from textif.models import create_model, list_models
    from textif.models.hub import bundled_weights, from_pretrained
    from textif.models.provenance import lineage, total_steps

    typer.echo(f"{'name':<14} {'params':>9} {'text':>7}  weights")
    for name in list_models():
        bundled = bundled_weights(name)
        if bundled is not None:
            ck = from_pretrained(bundled)
            net, enc = ck.model, ck.text_encoder
            n_stages = len(lineage(ck.training))
            status = f"trained ({total_steps(ck.training)} steps" + (f" in {n_stages} stages)" if n_stages > 1 else ")")
        else:
            net = create_model(name)
            enc = "clip" if net.config.text_dim == 512 else "minilm"
            status = "untrained (architecture only)"
        if name == DEFAULT_MODEL:
            status += ", the default"
        n = sum(p.numel() for p in net.parameters())
        typer.echo(f"{name:<14} {n / 1e6:>8.2f}M {enc:>7}  {status}")


def register(app: typer.Typer) -> None:
    app.command("models")(models)
