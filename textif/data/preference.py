"""Modality preference: how much the infrared image should dominate the fusion (issue 10).

A preference is a number ``ir_weight`` in ``[0, 1]``: 0 visible-dominant (colours and textures of
the visible image), 1 infrared-dominant (warm targets stand out), 0.5 neutral (the model's usual
fusion). It reaches the network in two ways, both trained in the same way the paper ties the text
to the loss (:func:`textif.losses.fusion.textif_loss`'s ``ir_weight``):

* **a sentence**: a preference clause appended to the task sentence ("... Make the warm targets
  stand out."), sampled from :data:`PREFERENCE_SENTENCES` (train) or held out;
* **a slider**: the text embedding is moved along the direction from the visible-preference anchor
  sentence to the infrared one, ``e + (2 w - 1) * strength * (e_ir - e_vis) / 2``
  (:func:`preference_shift`), so ``w = 0.5`` leaves the embedding exactly as it was.

Torch is imported only by the functions that take tensors; the anchors' embeddings come from the
model's text cache or encoder.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np

from textif.core.errors import TextIFError

if TYPE_CHECKING:  # torch is imported where it is used: the ONNX fuse path never loads it
    import torch
    from torch import Tensor

__all__ = [
    "NEUTRAL_IR_WEIGHT",
    "IR_ANCHOR",
    "VIS_ANCHOR",
    "PREFERENCE_SENTENCES",
    "SENTENCE_IR_WEIGHT",
    "PreferenceError",
    "check_ir_weight",
    "check_reach",
    "loss_ir_weight",
    "preference_shift",
    "sample_preference",
]

#: The slider's neutral setting: the model's usual fusion.
NEUTRAL_IR_WEIGHT = 0.5
#: Anchor sentences whose embeddings span the slider's direction.
IR_ANCHOR = "Make the warm targets of the infrared image stand out."
VIS_ANCHOR = "Keep the colours and textures of the visible image."

#: Preference clauses by direction and split (train / heldout are disjoint wordings).
PREFERENCE_SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        "ir": (
            IR_ANCHOR,
            "Make the warm targets stand out.",
            "Emphasise the thermal information.",
            "Let the infrared image dominate.",
            "Highlight the hot objects.",
            "More thermal, please.",
            "Give more weight to the infrared image.",
            "Pedestrians and vehicles should stand out as in the thermal image.",
        ),
        "vis": (
            VIS_ANCHOR,
            "Let the visible image dominate.",
            "Preserve the natural look of the visible image.",
            "More visible detail, please.",
            "Give more weight to the visible image.",
            "Keep the scene looking like the colour photo.",
        ),
    },
    "heldout": {
        "ir": (
            "Bring out the heat signatures.",
            "I care most about the thermal targets.",
            "Favour the infrared channel.",
        ),
        "vis": (
            "Stay close to the RGB image.",
            "I care most about the textures of the daylight image.",
            "Favour the visible channel.",
        ),
    },
}
#: The preference a training sentence stands for (a sentence is a fixed, moderate setting).
SENTENCE_IR_WEIGHT = {"ir": 0.85, "vis": 0.15}


class PreferenceError(TextIFError, ValueError):
    """A bad ``ir_weight``."""


def check_ir_weight(ir_weight: object) -> float | None:
    """``None`` (neutral) or a float in ``[0, 1]``; anything else raises :class:`PreferenceError`."""
    if ir_weight is None:
        return None
    try:
        w = float(ir_weight)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PreferenceError(f"ir_weight must be a number in [0, 1], got {ir_weight!r}") from None
    if not 0.0 <= w <= 1.0:
        raise PreferenceError(f"ir_weight must be in [0, 1] (0 visible-dominant, 0.5 neutral, 1 infrared-dominant), got {w:g}")
    return w


def preference_shift(ir_weight: float | Tensor, e_ir: Tensor | np.ndarray, e_vis: Tensor | np.ndarray, *,
                     strength: float = 1.0) -> Tensor | np.ndarray:
    """The slider's move of a text embedding: ``(2 w - 1) * strength * (e_ir - e_vis) / 2``; the one
    definition that training (torch) and the Fuser (numpy, also for ONNX Runtime) share.

    Args:
        ir_weight: a number or ``(B,)`` in ``[0, 1]``.
        e_ir, e_vis: ``(D,)`` or ``(1, D)`` embeddings of :data:`IR_ANCHOR` and :data:`VIS_ANCHOR`,
            both torch tensors or both numpy arrays.
        strength: scale of the move (a training hyper-parameter, recorded in the checkpoint).

    Returns:
        ``(B, D)`` (or ``(1, D)`` for a number) of the embeddings' kind, dtype (and device); add it
        to the sentence's embedding.
    """
    d = (e_ir.reshape(1, -1) - e_vis.reshape(1, -1)) / 2
    if isinstance(d, np.ndarray):
        w = np.asarray(ir_weight, dtype=d.dtype).reshape(-1, 1)
    else:
        import torch

        w = torch.as_tensor(ir_weight, dtype=d.dtype, device=d.device).reshape(-1, 1)
    return (2 * w - 1) * strength * d


def check_reach(reach: object) -> float:
    """The training key ``preference.reach`` as a float in ``(0, 1]``; anything else raises
    :class:`PreferenceError`."""
    try:
        r = float(reach)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        r = float("nan")
    if not 0.0 < r <= 1.0:
        raise PreferenceError(f"preference.reach must be in (0, 1] (1: the slider's ends aim at one image), got {reach!r}")
    return r


def loss_ir_weight(ir_weight: Tensor, reach: float) -> Tensor:
    """The preference the training loss aims at for a requested ``ir_weight``: moved toward neutral,
    ``0.5 + reach * (ir_weight - 0.5)``.

    Args:
        ir_weight: ``(B,)`` in ``[0, 1]``, the slider settings (or a sentence's
            :data:`SENTENCE_IR_WEIGHT`) the samples ask for.
        reach: in ``(0, 1]``; 1 returns ``ir_weight`` unchanged, so the ends aim at one input itself;
            smaller keeps both ends fusions (the other image still contributes).

    Returns:
        ``(B,)`` of ``ir_weight``'s dtype and device, in ``[0.5 - reach / 2, 0.5 + reach / 2]``;
        ``ir_weight`` itself (bit for bit) when ``reach`` is 1.

    Raises:
        PreferenceError: ``reach`` outside ``(0, 1]`` (:func:`check_reach`).
    """
    r = check_reach(reach)
    return ir_weight if r == 1.0 else NEUTRAL_IR_WEIGHT + r * (ir_weight - NEUTRAL_IR_WEIGHT)


def sample_preference(
    generator: torch.Generator,
    *,
    prob: float,
    sentence_prob: float,
    split: Literal["train", "heldout"] = "train",
) -> tuple[float, str | None]:
    """One training sample's preference: ``(ir_weight, clause or None)``.

    With probability ``1 - prob`` neutral ``(0.5, None)``; otherwise, with probability
    ``sentence_prob``, a clause of a random direction and its :data:`SENTENCE_IR_WEIGHT`, else a
    slider setting drawn uniformly from ``[0, 1]`` (no clause: the caller shifts the embedding).
    """
    import torch

    if not 0 <= prob <= 1 or not 0 <= sentence_prob <= 1:
        raise PreferenceError(f"preference probabilities must be in [0, 1], got {prob}, {sentence_prob}")
    u = torch.rand(3, generator=generator).tolist()
    if u[0] >= prob:
        return NEUTRAL_IR_WEIGHT, None
    if u[1] < sentence_prob:
        side = "ir" if u[2] < 0.5 else "vis"
        bank: Sequence[str] = PREFERENCE_SENTENCES[split][side]
        i = int(torch.randint(len(bank), (), generator=generator))
        return SENTENCE_IR_WEIGHT[side], bank[i]
    return float(u[2]), None
