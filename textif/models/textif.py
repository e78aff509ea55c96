"""The Text-IF network (Yi et al., CVPR 2024) and its registered presets.

Two Restormer-style encoders (visible: 3 channels, infrared: 1 channel) with PixelUnshuffle
down-sampling; a cross fusion layer at the deepest level (cross-attention with exchanged
queries, concatenation + projection, spatial self-attention); a semantic interaction fusion
decoder in which a SIGM modulates the features with the text embedding at every level; skip
connections that fuse both encoders' features per level; refinement blocks; RGB output.

Fast presets may start with a pixel-unshuffle stem (``stem > 1``) so that no transformer
block runs at full resolution; the structure above is unchanged.

Two options that are not in the paper (``textif-paper`` uses neither): ``window > 0`` restricts
the deepest level's spatial attentions to tiles, so the cost is linear in the number of pixels,
and ``detail_dim > 0`` adds a light full-resolution restoration path: NAFNet blocks, each
modulated by the text through its own SIGM, that see the inputs at full resolution together with
the network's output and its last decoder features, and add a correction to the output. Its output
layer starts at zero, so a network grown from one without the path starts out identical to it.
``sharpen_dim > 0`` adds a band-pass head after it: a few plain 3x3 convolutions, each modulated by
the text through its own SIGM, on the inputs, the output so far and band-pass copies of the visible
image (the image minus its Gaussian blur at each of ``sharpen_sigmas``), adding a correction to the
output; its output layer starts at zero too. The band-passes hand the head the fine detail a blur
removes, so re-injecting it is a per-pixel weighting the text can switch on.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from textif.core.registry import Registry
from textif.models.layers import (
    CrossAttention,
    Downsample,
    FusionEmbed,
    NAFBlock,
    SIGM,
    SpatialSelfAttention,
    TransformerBlock,
    Upsample,
)

__all__ = ["TextIFConfig", "TextIF", "MODELS", "register_model", "create_model", "list_models", "model_config",
           "grow_model", "transplant_weights"]


@dataclass
class TextIFConfig:
    """Architecture of a Text-IF network. Saved as ``config.json`` beside the weights.

    Attributes:
        dim: channels at level 1 (doubled at each deeper level).
        blocks: transformer blocks per level (encoders and decoder); its length is the number of levels.
        heads: MDTA heads per level.
        refinement_blocks: transformer blocks after the decoder, at level-1 resolution.
        ffn: ``"gated"`` (Restormer GDFN, depthwise) or ``"dense"`` (the official release's dense 3x3 FFN).
        ffn_expansion: hidden width of the feed-forward network relative to its input.
        text_dim: size of the text embedding (512 for CLIP, 384 for MiniLM).
        text_hidden: hidden width of each SIGM's MLP; ``None`` means ``2 * text_dim`` (official).
        stem: pixel-unshuffle factor of the input (1: a 3x3 conv at full resolution, as in the paper).
        level1_concat: keep ``2 * dim`` channels at the level-1 decoder (official); else project to ``dim``.
        residual_vis: add the visible image to the output (the network predicts a correction).
        full_attention: materialise the ``(HW)^2`` attention matrix as the official code does
            (reference/benchmark only); otherwise chunked, memory-bounded attention.
        attention_max_elements: memory bound for the chunked spatial attention.
        window: tile side (in deepest-level positions) of the deepest level's cross and self
            attention; 0 means global attention over all positions (the paper).
        detail_dim: channels of the full-resolution restoration path; 0 means none (the paper).
        detail_blocks: NAFNet blocks in that path.
        sharpen_dim: channels of the band-pass head after the detail path; 0 means none (the paper).
        sharpen_layers: text-modulated 3x3 convolutions in that head (before its output layer).
        sharpen_sigmas: Gaussian sigmas (pixels) of the visible band-passes the head sees.
    """

    dim: int = 48
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    heads: tuple[int, ...] = (1, 2, 4, 8)
    refinement_blocks: int = 4
    ffn: str = "dense"
    ffn_expansion: float = 2.0
    bias: bool = False
    text_dim: int = 512
    text_hidden: int | None = None
    stem: int = 1
    vis_channels: int = 3
    ir_channels: int = 1
    out_channels: int = 3
    level1_concat: bool = True
    residual_vis: bool = False
    full_attention: bool = False
    attention_max_elements: int = 1 << 24
    attention_groups: int = 16
    window: int = 0
    detail_dim: int = 0
    detail_blocks: int = 2
    sharpen_dim: int = 0
    sharpen_layers: int = 3
    sharpen_sigmas: tuple[float, ...] = (1.0, 2.0)

    def __post_init__(self) -> None:
        self.blocks = tuple(int(b) for b in self.blocks)
        self.heads = tuple(int(h) for h in self.heads)
        self.sharpen_sigmas = tuple(float(x) for x in self.sharpen_sigmas)
        if self.sharpen_dim < 0 or self.sharpen_layers < 1 or any(x <= 0 for x in self.sharpen_sigmas):
            raise ValueError(f"sharpen_dim must be >= 0, sharpen_layers >= 1 and sharpen_sigmas > 0, got "
                             f"{self.sharpen_dim}, {self.sharpen_layers}, {list(self.sharpen_sigmas)}")
        if len(self.blocks) != len(self.heads) or len(self.blocks) < 2:
            raise ValueError(f"blocks {self.blocks} and heads {self.heads} must have the same length (>= 2)")
        if self.stem < 1:
            raise ValueError(f"stem must be >= 1, got {self.stem}")
        if self.window < 0 or self.detail_dim < 0 or self.detail_blocks < 0:
            raise ValueError("window, detail_dim and detail_blocks must be >= 0")
        if self.window and self.full_attention:
            raise ValueError("full_attention (the reference) cannot be combined with window attention")
        if (self.dim * 2 ** (len(self.blocks) - 1)) % self.attention_groups:
            raise ValueError("the deepest level's channels must be divisible by attention_groups")

    @property
    def levels(self) -> int:
        return len(self.blocks)

    @property
    def multiple(self) -> int:
        """Input height and width must be multiples of this (inference pads to it)."""
        return self.stem * 2 ** (self.levels - 1)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["blocks"] = list(self.blocks)
        d["heads"] = list(self.heads)
        d["sharpen_sigmas"] = list(self.sharpen_sigmas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TextIFConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown TextIFConfig fields: {sorted(unknown)}")
        return cls(**d)


class _Encoder(nn.Module):
    def __init__(self, cfg: TextIFConfig, in_channels: int) -> None:
        super().__init__()
        s = cfg.stem
        self.embed = nn.Sequential(
            nn.PixelUnshuffle(s) if s > 1 else nn.Identity(),
            nn.Conv2d(in_channels * s * s, cfg.dim, 3, padding=1, bias=cfg.bias),
        )
        self.levels = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i, (n, h) in enumerate(zip(cfg.blocks, cfg.heads)):
            d = cfg.dim * 2**i
            if i > 0:
                self.downs.append(Downsample(d // 2))
            self.levels.append(
                nn.Sequential(
                    *[TransformerBlock(d, heads=h, ffn_expansion=cfg.ffn_expansion, ffn=cfg.ffn, bias=cfg.bias) for _ in range(n)]
                )
            )

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        x = self.embed(x)
        for i, level in enumerate(self.levels):
            if i > 0:
                x = self.downs[i - 1](x)
            x = level(x)
            feats.append(x)
        return feats


class _DetailPath(nn.Module):
    """The full-resolution restoration path (``detail_dim > 0``): ``(vis, ir, coarse output, last
    decoder features, text) -> correction (B, out_channels, H, W)``."""

    def __init__(self, cfg: TextIFConfig, top: int, hidden: int) -> None:
        super().__init__()
        c, s = cfg.detail_dim, cfg.stem
        self.embed = nn.Conv2d(cfg.vis_channels + cfg.ir_channels + cfg.out_channels, c, 3, padding=1)
        self.lift = nn.Sequential(nn.Conv2d(top, c * s * s, 1), nn.PixelShuffle(s) if s > 1 else nn.Identity())
        self.blocks = nn.ModuleList(NAFBlock(c) for _ in range(cfg.detail_blocks))
        self.sigm = nn.ModuleList(SIGM(cfg.text_dim, c, hidden=hidden) for _ in range(cfg.detail_blocks))
        self.out = nn.Conv2d(c, cfg.out_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, vis: Tensor, ir: Tensor, coarse: Tensor, feats: Tensor, text: Tensor) -> Tensor:
        x = self.embed(torch.cat([vis, ir, coarse], dim=1)) + self.lift(feats)
        for block, sigm in zip(self.blocks, self.sigm):
            x = sigm(block(x), text)
        return self.out(x)


def band_pass(img: Tensor, sigma: float) -> Tensor:
    """``img`` minus its Gaussian blur of standard deviation ``sigma`` px (reflected borders): the
    detail finer than about ``sigma``. ``img: (B, C, H, W)`` float -> same shape, zero-mean detail."""
    from kornia.filters import gaussian_blur2d

    k = 2 * int(3 * sigma + 0.5) + 1
    return img - gaussian_blur2d(img, (k, k), (sigma, sigma), border_type="reflect")


class BandPass(nn.Module):
    """Module form of :func:`band_pass` at several sigmas, concatenated along the channels:
    ``(B, C, H, W)`` -> ``(B, C * len(sigmas), H, W)``."""

    def __init__(self, sigmas: tuple[float, ...]) -> None:
        super().__init__()
        self.sigmas = tuple(sigmas)

    def forward(self, img: Tensor) -> Tensor:
        return torch.cat([band_pass(img, s) for s in self.sigmas], dim=1)


class _SharpenHead(nn.Module):
    """The band-pass head (``sharpen_dim > 0``): ``(vis, ir, output so far, text) -> correction
    (B, out_channels, H, W)``, from plain 3x3 convolutions (ReLU, each modulated by its own SIGM)
    on the inputs, the output and the visible image's band-passes."""

    def __init__(self, cfg: TextIFConfig, hidden: int) -> None:
        super().__init__()
        c = cfg.sharpen_dim
        self.band = BandPass(cfg.sharpen_sigmas)
        cin = cfg.vis_channels * (1 + len(cfg.sharpen_sigmas)) + cfg.ir_channels + cfg.out_channels
        self.convs = nn.ModuleList(nn.Conv2d(cin if i == 0 else c, c, 3, padding=1) for i in range(cfg.sharpen_layers))
        self.sigm = nn.ModuleList(SIGM(cfg.text_dim, c, hidden=hidden) for _ in range(cfg.sharpen_layers))
        self.out = nn.Conv2d(c, cfg.out_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, vis: Tensor, ir: Tensor, out: Tensor, text: Tensor) -> Tensor:
        x = torch.cat([vis, ir, out, self.band(vis)], dim=1)
        for conv, sigm in zip(self.convs, self.sigm):
            x = torch.relu(sigm(conv(x), text))
        return self.out(x)


class TextIF(nn.Module):
    """Text-guided image fusion network.

    Example:
        >>> net = TextIF(config=TextIFConfig(dim=8, blocks=(1, 1), heads=(1, 1), refinement_blocks=0,
        ...                                  text_dim=16, attention_groups=8))
        >>> out = net(torch.rand(1, 3, 32, 32), torch.rand(1, 1, 32, 32), torch.randn(1, 16))
        >>> out.shape
        torch.Size([1, 3, 32, 32])
    """

    def __init__(self, *, config: TextIFConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        cfg = dataclasses.replace(config or TextIFConfig(), **overrides)
        self.config = cfg
        L = cfg.levels
        deep = cfg.dim * 2 ** (L - 1)
        hidden = cfg.text_hidden or 2 * cfg.text_dim
        attn_kw = dict(groups=cfg.attention_groups, full=cfg.full_attention, max_elements=cfg.attention_max_elements,
                       window=cfg.window)
        block_kw = dict(ffn_expansion=cfg.ffn_expansion, ffn=cfg.ffn, bias=cfg.bias)

        self.encoder_vis = _Encoder(cfg, cfg.vis_channels)
        self.encoder_ir = _Encoder(cfg, cfg.ir_channels)
        self.cross_attention = CrossAttention(deep, **attn_kw)
        self.fuse_deep = FusionEmbed(deep, bias=cfg.bias)
        self.self_attention = SpatialSelfAttention(deep, **attn_kw)

        # decoder, index i = level (0 = finest); built from the deepest level up
        self.sigm = nn.ModuleList(SIGM(cfg.text_dim, cfg.dim * 2**i, hidden=hidden) for i in range(L))
        self.skip_fuse = nn.ModuleList(FusionEmbed(cfg.dim * 2**i, bias=cfg.bias) for i in range(L - 1))
        self.ups = nn.ModuleList(Upsample(cfg.dim * 2 ** (i + 1)) for i in range(L - 1))
        self.reduce = nn.ModuleList()
        for i in range(L - 1):
            d = cfg.dim * 2**i
            if i == 0 and cfg.level1_concat:
                self.reduce.append(nn.Identity())
            else:
                self.reduce.append(nn.Conv2d(2 * d, d, 1, bias=cfg.bias))
        top = 2 * cfg.dim if cfg.level1_concat else cfg.dim
        self.decoders = nn.ModuleList()
        for i in range(L):
            d = top if i == 0 else cfg.dim * 2**i
            self.decoders.append(nn.Sequential(*[TransformerBlock(d, heads=cfg.heads[i], **block_kw) for _ in range(cfg.blocks[i])]))
        self.refinement = nn.Sequential(
            *[TransformerBlock(top, heads=cfg.heads[0], **block_kw) for _ in range(cfg.refinement_blocks)]
        )
        s = cfg.stem
        self.output = nn.Sequential(
            nn.Conv2d(top, cfg.out_channels * s * s, 3, padding=1, bias=cfg.bias),
            nn.PixelShuffle(s) if s > 1 else nn.Identity(),
        )
        self.detail = _DetailPath(cfg, top, hidden) if cfg.detail_dim else None
        self.sharpen = _SharpenHead(cfg, hidden) if cfg.sharpen_dim else None

    def forward(self, vis: Tensor, ir: Tensor, text: Tensor) -> Tensor:
        """Fuse a batch.

        Args:
            vis: ``(B, 3, H, W)`` float in [0, 1], H and W multiples of ``config.multiple``.
            ir: ``(B, 1, H, W)`` float in [0, 1].
            text: ``(B, text_dim)`` or ``(1, text_dim)`` text embedding.

        Returns:
            ``(B, 3, H, W)`` fused image, approximately in [0, 1] (not clamped).
        """
        cfg = self.config
        if vis.shape[-2:] != ir.shape[-2:]:
            raise ValueError(f"vis {tuple(vis.shape)} and ir {tuple(ir.shape)} differ in size")
        h, w = vis.shape[-2:]
        if h % cfg.multiple or w % cfg.multiple:
            raise ValueError(f"height and width must be multiples of {cfg.multiple}, got {h}x{w} (pad first)")
        if text.shape[-1] != cfg.text_dim:
            raise ValueError(f"text embedding has {text.shape[-1]} dims; this model expects {cfg.text_dim}")
        text = text.to(vis.dtype)
        fv = self.encoder_vis(vis)
        fi = self.encoder_ir(ir)
        L = cfg.levels
        a, b = self.cross_attention(fv[-1], fi[-1])
        x = self.self_attention(self.fuse_deep(a, b))
        x = self.decoders[L - 1](self.sigm[L - 1](x, text))
        for i in range(L - 2, -1, -1):
            x = self.sigm[i](self.ups[i](x), text)
            x = torch.cat([x, self.skip_fuse[i](fv[i], fi[i])], dim=1)
            x = self.decoders[i](self.reduce[i](x))
        x = self.refinement(x)
        out = self.output(x)
        if cfg.residual_vis:
            out = out + vis
        if self.detail is not None:
            out = out + self.detail(vis, ir, out, x, text)
        if self.sharpen is not None:
            out = out + self.sharpen(vis, ir, out, text)
        return out


# ---------------------------------------------------------------- registry
MODELS: Registry[Callable[..., TextIFConfig]] = Registry("model")


def register_model(name: str) -> Callable[[Callable[..., TextIFConfig]], Callable[..., TextIFConfig]]:
    """Register a function returning the :class:`TextIFConfig` of a preset."""
    return MODELS.register(name)


@register_model("textif-paper")
def _paper() -> TextIFConfig:
    """Layer sizes of the official release (63.8 M parameters; CLIP text encoder)."""
    return TextIFConfig(
        dim=48, blocks=(2, 2, 2, 2), heads=(1, 2, 4, 8), refinement_blocks=4, ffn="dense", ffn_expansion=2.0,
        text_dim=512, stem=1, level1_concat=True,
    )


@register_model("textif-base")
def _base() -> TextIFConfig:
    """Restormer GDFN, pixel-unshuffle stem of 2; quality-oriented CPU preset."""
    return TextIFConfig(
        dim=32, blocks=(1, 2, 2, 2), heads=(1, 2, 4, 8), refinement_blocks=1, ffn="gated", ffn_expansion=2.0,
        text_dim=384, text_hidden=256, stem=2, level1_concat=False, residual_vis=True,
    )


@register_model("textif-small")
def _small() -> TextIFConfig:
    """The default: fast on a CPU (pixel-unshuffle stem of 2, GDFN, 4 levels)."""
    return TextIFConfig(
        dim=24, blocks=(1, 1, 2, 2), heads=(1, 2, 4, 8), refinement_blocks=1, ffn="gated", ffn_expansion=2.0,
        text_dim=384, text_hidden=192, stem=2, level1_concat=False, residual_vis=True,
    )


@register_model("textif-restore")
def _restore() -> TextIFConfig:
    """textif-small with windowed deepest-level attention (cost linear in pixels) and a light
    full-resolution restoration path (4 NAFNet blocks of 16 channels, each text-modulated)."""
    return dataclasses.replace(_small(), window=8, detail_dim=16, detail_blocks=4)


@register_model("textif-fast")
def _fast() -> TextIFConfig:
    """textif-small's layers behind a pixel-unshuffle stem of 4 (every level at half the resolution,
    about a quarter of the work), windowed deepest-level attention and a lighter full-resolution
    restoration path (2 NAFNet blocks of 8 channels); meant to be distilled from textif-restore
    (``distill_weight``)."""
    return dataclasses.replace(_small(), stem=4, window=8, detail_dim=8, detail_blocks=2)


@register_model("textif-tiny")
def _tiny() -> TextIFConfig:
    """For tests: a few thousand parameters."""
    return TextIFConfig(
        dim=8, blocks=(1, 1, 1), heads=(1, 1, 2), refinement_blocks=0, ffn="gated", ffn_expansion=1.5,
        text_dim=384, text_hidden=32, stem=1, level1_concat=False, residual_vis=True, attention_groups=8,
    )


def model_config(name: str, **overrides: Any) -> TextIFConfig:
    """The config of a registered preset, with fields overridden."""
    return dataclasses.replace(MODELS.get(name)(), **overrides)


def create_model(name: str, **overrides: Any) -> TextIF:
    """Build a registered preset (untrained). ``create_model("textif-small", dim=32)``."""
    return TextIF(config=model_config(name, **overrides))


def list_models() -> list[str]:
    return MODELS.names()


# Fields a trained network may be grown along (its weights all carry over; new parts start as the
# identity), and fields that change nothing that is learned.
_DETAIL = frozenset({"detail_dim", "detail_blocks"})
_SHARPEN = frozenset({"sharpen_dim", "sharpen_layers", "sharpen_sigmas"})
_GROWABLE = frozenset({"window"}) | _DETAIL | _SHARPEN
_NOT_LEARNED = frozenset({"full_attention", "attention_max_elements"})


def transplant_weights(net: TextIF, config: TextIFConfig) -> tuple[TextIF, list[str]]:
    """A new network of architecture ``config`` holding every weight of ``net`` whose name and shape
    match (e.g. the levels of a network with another stem); returns it and the names of the
    parameters that start fresh."""
    new = TextIF(config=config).to(next(net.parameters()).dtype)
    own = new.state_dict()
    take = {k: v for k, v in net.state_dict().items() if k in own and own[k].shape == v.shape}
    new.load_state_dict(take, strict=False)
    fresh = [k for k, _ in new.named_parameters() if k not in take]
    return new.train(net.training), fresh


def grow_model(net: TextIF, config: TextIFConfig) -> TextIF:
    """``net`` with the architecture ``config``, keeping every trained weight: ``net`` itself when
    only settings that are not learned differ; else a new network that differs from ``net`` only in
    the optional parts, which start as the identity, so the grown network computes what ``net`` did
    (up to the windowing of attention on large inputs). The optional parts: ``window``; the
    ``detail`` path on a network without one; more ``detail_blocks`` on a network with one (the
    new NAFNet blocks and their SIGMs go after the trained ones and start as the identity); the
    band-pass ``sharpen`` head on a network without one.

    Raises:
        ValueError: naming the fields when the architectures differ in anything else (a detail path
            cannot be narrowed, widened or made shallower; a band-pass head cannot be changed).
    """
    old, new = net.config.to_dict(), config.to_dict()
    differ = sorted(k for k in new if old.get(k) != new[k] and k not in _NOT_LEARNED)
    if not differ:
        return net
    allowed = {"window"}
    if not old["detail_dim"]:
        allowed |= _DETAIL
    elif new["detail_blocks"] >= old["detail_blocks"]:  # a path to keep: only more blocks
        allowed.add("detail_blocks")
    if not old["sharpen_dim"]:
        allowed |= _SHARPEN
    if not set(differ) <= allowed:
        raise ValueError(f"cannot grow a network into a different architecture: {', '.join(differ)} differ "
                         f"(only {', '.join(sorted(_GROWABLE))} can be added to a network without a detail path "
                         "or band-pass head, and only more detail_blocks to one with a detail path)")
    grown = TextIF(config=config).to(next(net.parameters()).dtype)
    missing, unexpected = grown.load_state_dict(net.state_dict(), strict=False)
    stray = [k for k in missing if not k.startswith(("detail.", "sharpen."))] + list(unexpected)
    if stray:  # cannot happen for the growable fields; a guard against future edits
        raise ValueError(f"growing left weights unmatched: {stray[:5]}")
    return grown.train(net.training)
