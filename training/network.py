"""The feed-forward style network of Johnson et al. (2016), with the fixes the field settled on since.

Reflection padding (no border artefacts), instance norm (Ulyanov et al.; contrast-independent stylisation),
nearest-neighbour upsampling followed by a convolution instead of transposed convolutions (no checkerboard,
Odena et al.), residual blocks at 1/4 resolution. Width and depth are parameters so the same code trains the
Johnson-size quality model and small fast CPU models.

Normalisation is *conditional* instance norm (Dumoulin et al. 2017): one scale/shift per style, blended by a
weight vector. With one style it is plain affine instance norm; with several, one network paints all of them
and can blend them in feature space (the runtime's ``style_weights`` input).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class Architecture:
    """Shape of a style network. Stored in checkpoints and in the .onnx metadata."""

    channels: tuple[int, int, int] = (32, 64, 128)
    res_blocks: int = 5
    num_styles: int = 1

    @property
    def size_multiple(self) -> int:
        """Input sides must be a multiple of this (two stride-2 convolutions)."""
        return 4

    @property
    def min_size(self) -> int:
        """Smallest side the reflection pads of the deepest layer accept (9x9 conv: pad 4 < side)."""
        return 16

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["name"] = "johnson2016"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        return cls(channels=tuple(int(c) for c in d["channels"]), res_blocks=int(d["res_blocks"]),
                   num_styles=int(d.get("num_styles", 1)))


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are a weighted blend of per-style parameters."""

    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.scale = nn.Parameter(torch.ones(num_styles, channels))
        self.shift = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        scale = (style_weights @ self.scale).view(1, -1, 1, 1)
        shift = (style_weights @ self.shift).view(1, -1, 1, 1)
        return self.norm(x) * scale + shift


class ConvNormAct(nn.Module):
    """Reflection pad + conv (+ optional nearest upsample before) + conditional instance norm + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, num_styles: int,
                 upsample: bool = False, relu: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride)
        self.norm = ConditionalInstanceNorm(cout, num_styles)
        self.relu = relu

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.norm(self.conv(self.pad(x)), style_weights)
        return F.relu(x) if self.relu else x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.a = ConvNormAct(channels, channels, 3, 1, num_styles)
        self.b = ConvNormAct(channels, channels, 3, 1, num_styles, relu=False)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, style_weights), style_weights)


class StyleNet(nn.Module):
    """RGB in [0, 1] (N, 3, H, W) -> RGB, roughly [0, 1] (unclamped: the losses see the raw output).

    H and W must be multiples of ``arch.size_multiple`` and at least ``arch.min_size``; the exported graph pads
    to that and crops back, so the .onnx model takes any size.
    """

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        c1, c2, c3 = arch.channels
        s = arch.num_styles
        self.down = nn.ModuleList([
            ConvNormAct(3, c1, 9, 1, s),
            ConvNormAct(c1, c2, 3, 2, s),
            ConvNormAct(c2, c3, 3, 2, s),
        ])
        self.res = nn.ModuleList([ResidualBlock(c3, s) for _ in range(arch.res_blocks)])
        self.up = nn.ModuleList([
            ConvNormAct(c3, c2, 3, 1, s, upsample=True),
            ConvNormAct(c2, c1, 3, 1, s, upsample=True),
        ])
        self.out_pad = nn.ReflectionPad2d(4)
        self.out_conv = nn.Conv2d(c1, 3, 9, 1)
        self.register_buffer("single_style", torch.ones(1), persistent=False)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor | None = None) -> torch.Tensor:
        w = self.single_style if style_weights is None else style_weights
        for layer in self.down:
            x = layer(x, w)
        for block in self.res:
            x = block(x, w)
        for layer in self.up:
            x = layer(x, w)
        return self.out_conv(self.out_pad(x))
