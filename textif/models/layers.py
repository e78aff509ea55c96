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
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) * torch.rsqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


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
    def __init__(self, *, full: bool, max_elements: int) -> None:
        super().__init__()
        self.full = full
        self.max_elements = max_elements

    def _attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        if self.full:
            return _full_attention(q, k, v)
        return chunked_attention(q, k, v, max_elements=self.max_elements)


class CrossAttention(_SpatialAttentionBase):
    """Cross-modal spatial attention with exchanged queries (paper Eq. 4-5).

    ``a, b: (B, C, H, W)`` -> ``(a', b')`` where ``a'`` attends from ``b``'s queries to
    ``a``'s keys and values and vice versa; residual connections as in the official code.
    """

    def __init__(self, dim: int, *, groups: int = 16, full: bool = False, max_elements: int = 1 << 24) -> None:
        super().__init__(full=full, max_elements=max_elements)
        self.norm_a = nn.GroupNorm(groups, dim)
        self.norm_b = nn.GroupNorm(groups, dim)
        self.qkv_a = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.qkv_b = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.out_a = nn.Conv2d(dim, dim, 1)
        self.out_b = nn.Conv2d(dim, dim, 1)

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        h, w = a.shape[-2:]
        a = self.norm_a(a)
        b = self.norm_b(b)
        qa, ka, va = (_tokens(t) for t in self.qkv_a(a).chunk(3, dim=1))
        qb, kb, vb = (_tokens(t) for t in self.qkv_b(b).chunk(3, dim=1))
        out_a = self.out_a(_untokens(self._attend(qb, ka, va), h, w)) + a
        out_b = self.out_b(_untokens(self._attend(qa, kb, vb), h, w)) + b
        return out_a, out_b


class SpatialSelfAttention(_SpatialAttentionBase):
    """Single-head spatial self-attention (SE-ATT) over all pixels, with a residual."""

    def __init__(self, dim: int, *, groups: int = 16, full: bool = False, max_elements: int = 1 << 24) -> None:
        super().__init__(full=full, max_elements=max_elements)
        self.norm = nn.GroupNorm(groups, dim)
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        q, k, v = (_tokens(t) for t in self.qkv(self.norm(x)).chunk(3, dim=1))
        return self.out(_untokens(self._attend(q, k, v), h, w)) + x


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
