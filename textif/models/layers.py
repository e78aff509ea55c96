"""Building blocks of the Text-IF network (Restormer-style), shared by every preset.

All blocks take and return ``(B, C, H, W)`` feature maps; none of them creates tensors on a
fixed device. This module never imports the model definitions.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LayerNorm2d",
    "MDTA",
    "GatedDconvFFN",
    "DenseConvFFN",
    "TransformerBlock",
    "Downsample",
    "Upsample",
    "chunked_attention",
    "window_attention",
    "SimpleGate",
    "NAFBlock",
    "CrossAttention",
    "SpatialSelfAttention",
    "SIGM",
    "sigm_modulate",
    "FusionEmbed",
]


class LayerNorm2d(nn.Module):
    """Layer normalisation over the channel axis of ``(B, C, H, W)`` features (with bias)."""

    def __init__(self, dim: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        # One fused layer_norm over the channels-last view: in channels-last memory (the inference
        # runner's) the permute is free, and the ONNX export becomes a single LayerNormalization
        # node instead of nine element-wise ones (5-7 % of a fusion at 640x480 on a CPU).
        out = F.layer_norm(x.permute(0, 2, 3, 1), (self.weight.shape[0],), self.weight, self.bias, self.eps)
        return out.permute(0, 3, 1, 2)


class MDTA(nn.Module):
    """Multi-Dconv-head transposed attention (Restormer): attention across channels, so the
    cost is linear in the number of pixels. ``x: (B, C, H, W)`` -> same shape."""

    def __init__(self, dim: int, *, heads: int, bias: bool = False) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=bias)
        self.qkv_dw = nn.Conv2d(dim * 3, dim * 3, 3, padding=1, groups=dim * 3, bias=bias)
        self.proj = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dw(self.qkv(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.reshape(b, c, h, w))


class GatedDconvFFN(nn.Module):
    """Restormer's gated depthwise-conv feed-forward network (GDFN)."""

    def __init__(self, dim: int, *, expansion: float, bias: bool = False) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden * 2, 1, bias=bias)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        a, g = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * g)


class DenseConvFFN(nn.Module):
    """The feed-forward network of the official Text-IF release: 1x1, dense 3x3, GELU, 1x1."""

    def __init__(self, dim: int, *, expansion: float, bias: bool = False) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden, 1, bias=bias)
        self.conv = nn.Conv2d(hidden, hidden, 3, padding=1, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.project_out(F.gelu(self.conv(self.project_in(x))))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + MDTA(LN(x))`` then ``x + FFN(LN(x))``."""

    def __init__(self, dim: int, *, heads: int, ffn_expansion: float, ffn: str = "gated", bias: bool = False) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = MDTA(dim, heads=heads, bias=bias)
        self.norm2 = LayerNorm2d(dim)
        if ffn == "gated":
            self.ffn: nn.Module = GatedDconvFFN(dim, expansion=ffn_expansion, bias=bias)
        elif ffn == "dense":
            self.ffn = DenseConvFFN(dim, expansion=ffn_expansion, bias=bias)
        else:
            raise ValueError(f"ffn must be 'gated' or 'dense', got {ffn!r}")

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class Downsample(nn.Module):
    """Halve the resolution, double the channels: 3x3 conv to C/2, then PixelUnshuffle(2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """Double the resolution, halve the channels: 3x3 conv to 2C, then PixelShuffle(2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(dim, dim * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def chunked_attention(q: Tensor, k: Tensor, v: Tensor, *, max_elements: int = 1 << 24) -> Tensor:
    """Softmax attention ``softmax(q k^T / sqrt(d)) v`` with bounded memory.

    Args:
        q, k, v: ``(B, heads, N, d)``.
        max_elements: queries are processed in chunks so that at most about this many
            attention weights exist at once (per batch element and head).

    Returns:
        ``(B, heads, N, d)``. Uses :func:`torch.nn.functional.scaled_dot_product_attention`,
        so no ``(N, N)`` matrix is ever materialised for large ``N``.
    """
    n = q.shape[-2]
    chunk = max(1, max_elements // max(1, k.shape[-2]))
    if chunk >= n:
        return F.scaled_dot_product_attention(q, k, v)
    return torch.cat(
        [F.scaled_dot_product_attention(q[..., i : i + chunk, :], k, v) for i in range(0, n, chunk)], dim=-2
    )


def window_attention(q: Tensor, k: Tensor, v: Tensor, *, window: int) -> Tensor:
    """Single-head softmax attention of every position to the positions in its own
    ``window x window`` tile (non-overlapping tiles from the top-left corner), so the cost is linear
    in the number of positions.

    Args:
        q, k, v: ``(B, C, H, W)`` query, key and value maps (any H, W; the last tiles are padded,
            and padded keys are masked out, so a map no larger than one tile gets exactly global
            attention).
        window: tile side in positions.

    Returns:
        ``(B, C, H, W)``.
    """
    b, c, h, w = q.shape
    ph, pw = (-h) % window, (-w) % window
    valid = F.pad(torch.ones_like(q[:, :1]), (0, pw, 0, ph))  # (B, 1, Hp, Wp), 1 on real positions

    def tiles(x: Tensor) -> Tensor:  # (B, C', Hp, Wp) -> (B * nH * nW, 1, window^2, C')
        cc, hp, wp = x.shape[1], x.shape[2], x.shape[3]
        x = x.reshape(b, cc, hp // window, window, wp // window, window).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(-1, 1, window * window, cc)

    qt, kt, vt = (tiles(F.pad(t, (0, pw, 0, ph))) for t in (q, k, v))
    mask = tiles(valid).transpose(-2, -1) > 0.5  # (N, 1, 1, window^2): keys that take part
    out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask)
    hp, wp = h + ph, w + pw
    out = out.reshape(b, hp // window, wp // window, window, window, c).permute(0, 5, 1, 3, 2, 4)
    return out.reshape(b, c, hp, wp)[:, :, :h, :w]


def _full_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Reference attention that materialises the ``(N, N)`` matrix (as the official code does)."""
    attn = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return attn.softmax(-1) @ v


def _tokens(x: Tensor) -> Tensor:
    b, c, h, w = x.shape
    return x.reshape(b, 1, c, h * w).transpose(-2, -1)  # (B, 1, HW, C)


def _untokens(t: Tensor, h: int, w: int) -> Tensor:
    b, _, n, c = t.shape
    return t.transpose(-2, -1).reshape(b, c, h, w)


class _SpatialAttentionBase(nn.Module):
    def __init__(self, *, full: bool, max_elements: int, window: int = 0) -> None:
        super().__init__()
        if window < 0 or (window and full):
            raise ValueError(f"window must be >= 0 and cannot be combined with full attention, got {window}")
        self.full = full
        self.max_elements = max_elements
        self.window = window

    def _attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """``q, k, v: (B, C, H, W)`` maps -> ``(B, C, H, W)``: global attention over all positions,
        or within ``window`` tiles when ``window > 0``."""
        h, w = q.shape[-2:]
        if self.window:
            return window_attention(q, k, v, window=self.window)
        q, k, v = _tokens(q), _tokens(k), _tokens(v)
        if self.full:
            return _untokens(_full_attention(q, k, v), h, w)
        return _untokens(chunked_attention(q, k, v, max_elements=self.max_elements), h, w)


class CrossAttention(_SpatialAttentionBase):
    """Cross-modal spatial attention with exchanged queries (paper Eq. 4-5).

    ``a, b: (B, C, H, W)`` -> ``(a', b')`` where ``a'`` attends from ``b``'s queries to
    ``a``'s keys and values and vice versa; residual connections as in the official code.
    ``window > 0`` restricts attention to ``window x window`` tiles (linear cost; not in the paper).
    """

    def __init__(self, dim: int, *, groups: int = 16, full: bool = False, max_elements: int = 1 << 24,
                 window: int = 0) -> None:
        super().__init__(full=full, max_elements=max_elements, window=window)
        self.norm_a = nn.GroupNorm(groups, dim)
        self.norm_b = nn.GroupNorm(groups, dim)
        self.qkv_a = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.qkv_b = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.out_a = nn.Conv2d(dim, dim, 1)
        self.out_b = nn.Conv2d(dim, dim, 1)

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        a = self.norm_a(a)
        b = self.norm_b(b)
        qa, ka, va = self.qkv_a(a).chunk(3, dim=1)
        qb, kb, vb = self.qkv_b(b).chunk(3, dim=1)
        out_a = self.out_a(self._attend(qb, ka, va)) + a
        out_b = self.out_b(self._attend(qa, kb, vb)) + b
        return out_a, out_b


class SpatialSelfAttention(_SpatialAttentionBase):
    """Single-head spatial self-attention (SE-ATT) over all pixels (or ``window`` tiles), with a residual."""

    def __init__(self, dim: int, *, groups: int = 16, full: bool = False, max_elements: int = 1 << 24,
                 window: int = 0) -> None:
        super().__init__(full=full, max_elements=max_elements, window=window)
        self.norm = nn.GroupNorm(groups, dim)
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=1)
        return self.out(self._attend(q, k, v)) + x


def sigm_modulate(features: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    """Semantic modulation (paper Eq. 9): ``(1 + gamma) * F + beta``.

    Args:
        features: ``(B, C, H, W)``.
        gamma, beta: ``(B, C)`` or ``(1, C)`` (broadcast over the batch).
    """
    return (1 + gamma[:, :, None, None]) * features + beta[:, :, None, None]


class SIGM(nn.Module):
    """Semantic interaction guidance module: an MLP maps the text embedding to
    ``(gamma, beta)`` (Eq. 8), which modulate the fusion features (Eq. 9).

    The last layer starts at zero, so an untrained SIGM is the identity.
    """

    def __init__(self, text_dim: int, channels: int, *, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(text_dim, hidden), nn.LeakyReLU(), nn.Linear(hidden, channels * 2))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, features: Tensor, text: Tensor) -> Tensor:
        gamma, beta = self.mlp(text.to(features.dtype)).chunk(2, dim=-1)
        return sigm_modulate(features, gamma, beta)


class FusionEmbed(nn.Module):
    """Concatenate two modalities' features and project back to ``dim`` channels (1x1 conv)."""

    def __init__(self, dim: int, *, bias: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(dim * 2, dim, 1, bias=bias)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return self.proj(torch.cat([a, b], dim=1))


def simple_gate(x: Tensor) -> Tensor:
    """NAFNet's SimpleGate: split the channels in two halves and multiply them.
    ``x: (B, 2C, H, W)`` -> ``(B, C, H, W)``."""
    a, b = x.chunk(2, dim=1)
    return a * b


class SimpleGate(nn.Module):
    """Module form of :func:`simple_gate`."""

    def forward(self, x: Tensor) -> Tensor:
        return simple_gate(x)


class NAFBlock(nn.Module):
    """A nonlinear-activation-free block (Chen et al., "Simple Baselines for Image Restoration",
    ECCV 2022): LN, 1x1 expand, 3x3 depthwise, SimpleGate, simplified channel attention, 1x1;
    then LN, 1x1 expand, SimpleGate, 1x1; each branch added with a learned per-channel scale that
    starts at zero, so a new block is the identity. Cheap enough to run at full resolution.
    ``x: (B, C, H, W)`` -> same shape."""

    def __init__(self, dim: int, *, expansion: int = 2) -> None:
        super().__init__()
        hidden = dim * expansion
        self.norm1 = LayerNorm2d(dim)
        self.expand = nn.Conv2d(dim, hidden, 1)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.sca = nn.Conv2d(hidden // 2, hidden // 2, 1)
        self.project = nn.Conv2d(hidden // 2, dim, 1)
        self.norm2 = LayerNorm2d(dim)
        self.ffn_in = nn.Conv2d(dim, hidden, 1)
        self.ffn_out = nn.Conv2d(hidden // 2, dim, 1)
        self.beta = nn.Parameter(torch.zeros(1, dim, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        y = simple_gate(self.dwconv(self.expand(self.norm1(x))))
        y = y * self.sca(y.mean(dim=(2, 3), keepdim=True))
        x = x + self.project(y) * self.beta
        y = self.ffn_out(simple_gate(self.ffn_in(self.norm2(x))))
        return x + y * self.gamma
