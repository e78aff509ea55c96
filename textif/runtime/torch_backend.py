"""The PyTorch backend: the Text-IF network in channels-last memory format under ``inference_mode``,
with the text modulation (each SIGM's MLP) computed once per sentence rather than per call or tile."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["TorchRunner"]


class TorchRunner:
    """Runs ``model(vis, ir, text)`` on padded arrays (see :class:`textif.runtime.base.Runner`).

    Args:
        model: a Text-IF network (any ``nn.Module`` with that signature); it is moved to
            ``device``/``dtype``, frozen and put in eval mode.
        device: a :class:`torch.device`. dtype: ``torch.float32`` (``float16``/``bfloat16`` on a GPU).
        channels_last: keep convolution inputs in channels-last (NHWC) memory, faster on CPUs and GPUs.
    """

    name = "torch"

    def __init__(self, model: nn.Module, device: torch.device, dtype: torch.dtype = torch.float32, *,
                 channels_last: bool = True) -> None:
        self.device = device
        self.dtype = dtype
        self.channels_last = channels_last
        self.model = model.to(device, dtype).eval()
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        for p in self.model.parameters():
            p.requires_grad_(False)
        from textif.models.layers import SIGM

        self._sigm_mlps = [m.mlp for m in self.model.modules() if isinstance(m, SIGM)]
        self._modulation: tuple[bytes, list[Tensor]] | None = None  # (text bytes, one MLP output per SIGM)
        self._lock = threading.Lock()

    def _modulations(self, text: Tensor) -> list[Tensor]:
        key = text.detach().float().cpu().numpy().tobytes() + str(tuple(text.shape)).encode()
        if self._modulation is None or self._modulation[0] != key:
            self._modulation = (key, [mlp(text) for mlp in self._sigm_mlps])
        return self._modulation[1]

    def __call__(self, vis: Any, ir: Any, text: Any) -> Any:
        as_numpy = isinstance(vis, np.ndarray)
        v = torch.from_numpy(vis) if as_numpy else vis
        i = torch.from_numpy(ir) if as_numpy else ir
        t = torch.from_numpy(np.asarray(text)) if isinstance(text, np.ndarray) else text
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        v = v.to(self.device, self.dtype).contiguous(memory_format=fmt)
        i = i.to(self.device, self.dtype).contiguous(memory_format=fmt)
        t = t.to(self.device, self.dtype).expand(v.shape[0], -1)
        with self._lock, torch.inference_mode():
            mods = self._modulations(t)
            try:  # each SIGM's MLP answers with the output computed once for this sentence
                for mlp, out in zip(self._sigm_mlps, mods):
                    mlp.forward = (lambda _t, _o=out: _o)  # type: ignore[method-assign]
                out = self.model(v, i, t)
            finally:
                for mlp in self._sigm_mlps:
                    mlp.__dict__.pop("forward", None)  # back to the class's forward
        out = out.float().contiguous()
        return out.cpu().numpy() if as_numpy else out
