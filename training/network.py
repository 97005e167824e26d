"""Feed-forward style networks: Johnson et al. (2016) for quality, and a CPU-first design for real time.

Johnson's network (``kind="johnson2016"``):

Reflection padding (no border artefacts), instance norm (Ulyanov et al.; contrast-independent stylisation),
nearest-neighbour upsampling followed by a convolution instead of transposed convolutions (no checkerboard,
Odena et al.), residual blocks at 1/4 resolution. Width and depth are parameters so the same code trains the
Johnson-size quality model and small fast CPU models.

The CPU-first network (``kind="fastcpu"``) spends its arithmetic where a 2-core CPU can afford it: three stride-2
convolutions take the frame to 1/8 resolution at once, the residual body and the decoder use depthwise-separable
convolutions (a 3x3 per-channel filter plus a 1x1 mix, ~8x fewer multiply-adds than a full 3x3), and the decoder
stops at 1/2 resolution, leaving the last doubling to a bilinear resize. Zero padding is fused into the
convolutions (no separate pad pass over memory). At 640x480 it costs ~0.3 GMAC per frame against Johnson's ~47.

Both may dilate their residual blocks (``dilations``, one per block; Yu & Koltun 2016): a 3x3 filter with its taps
``d`` apart sees ``d`` times as far at the same cost, so the network can shape larger strokes. A plain Johnson
network sees 111 px, about the 92 px of VGG16's relu4_3, the style layer the quality models match worst; its
*effective* field is much narrower than that (Luo et al. 2016), and dilations widen both.

Normalisation in both is *conditional* instance norm (Dumoulin et al. 2017): one scale/shift per style, blended by a
weight vector. With one style it is plain affine instance norm; with several, one network paints all of them
and can blend them in feature space (the runtime's ``style_weights`` input).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

KINDS = ("johnson2016", "fastcpu")


@dataclass(frozen=True)
class Architecture:
    """Shape of a style network. Stored in checkpoints and in the .onnx metadata."""

    channels: tuple[int, int, int] = (32, 64, 128)
    res_blocks: int = 5
    num_styles: int = 1
    kind: str = "johnson2016"
    # One dilation per residual block; empty means 1 for every block (the published networks).
    dilations: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown network kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.dilations and (len(self.dilations) != self.res_blocks or min(self.dilations) < 1):
            raise ValueError(f"dilations {','.join(map(str, self.dilations))} do not fit a network of "
                             f"{self.res_blocks} residual blocks: give one whole number >= 1 per block")

    @property
    def block_dilations(self) -> tuple[int, ...]:
        return self.dilations or (1,) * self.res_blocks

    @property
    def receptive_field(self) -> int:
        """The widest span of input pixels one output pixel can depend on (instance norm's global statistics
        aside). Each residual block's two 3x3 filters with dilation d reach 2 * 2 * d steps of the body's pitch
        (4 px in Johnson's network, 8 in fastcpu); the encoder, decoder and end filters add a fixed border, widest
        at output pixels where nearest or bilinear upsampling straddles two coarse pixels (the test measures it
        from gradients)."""
        body = 2 * 2 * sum(self.block_dilations)
        return 39 + 8 * body if self.kind == "fastcpu" else 31 + 4 * body

    @property
    def size_multiple(self) -> int:
        """Input sides must be a multiple of this (one stride-2 convolution per level)."""
        return 8 if self.kind == "fastcpu" else 4

    @property
    def min_size(self) -> int:
        """Smallest side the network accepts: Johnson's reflection pads at 1/4 resolution need a side wider than
        the pad (the dilation), and instance norm at fastcpu's 1/8 resolution needs more than one pixel."""
        if self.kind == "fastcpu":
            return 16
        return max(16, 4 * (max(self.block_dilations) + 1))

    def to_dict(self) -> dict:
        """Undilated networks are written as before dilations existed, so their recipes and metadata stay the same."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["name"] = d.pop("kind")
        if self.dilations:
            d["dilations"] = list(self.dilations)
        else:
            del d["dilations"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        return cls(channels=tuple(int(c) for c in d["channels"]), res_blocks=int(d["res_blocks"]),
                   num_styles=int(d.get("num_styles", 1)), kind=str(d.get("name", "johnson2016")),
                   dilations=tuple(int(x) for x in d.get("dilations", ())))


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are a weighted blend of per-style parameters."""

    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(num_styles, channels))
        self.shift = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        # The blended scale/shift go in as instance norm's own affine inputs: one ONNX InstanceNormalization
        # node per layer instead of norm + Mul + Add passes over the feature map.
        return F.instance_norm(x, weight=style_weights @ self.scale, bias=style_weights @ self.shift, eps=1e-5)


class ConvNormAct(nn.Module):
    """Reflection pad + conv (+ optional nearest upsample before) + conditional instance norm + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, num_styles: int,
                 upsample: bool = False, relu: bool = True, dilation: int = 1) -> None:
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(dilation * (kernel // 2))
        self.conv = nn.Conv2d(cin, cout, kernel, stride, dilation=dilation)
        self.norm = ConditionalInstanceNorm(cout, num_styles)
        self.relu = relu

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.norm(self.conv(self.pad(x)), style_weights)
        return F.relu(x) if self.relu else x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, num_styles: int, dilation: int = 1) -> None:
        super().__init__()
        self.a = ConvNormAct(channels, channels, 3, 1, num_styles, dilation=dilation)
        self.b = ConvNormAct(channels, channels, 3, 1, num_styles, relu=False, dilation=dilation)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, style_weights), style_weights)


class EncoderDecoder(nn.Module):
    """What both networks share: encoder ``down``, residual body ``res``, decoder ``up``, then ``out_conv`` in a
    network-specific ``finish``. RGB in [0, 1] (N, 3, H, W) -> RGB, roughly [0, 1] (unclamped: the losses see the
    raw output). H and W must be multiples of ``arch.size_multiple`` and at least ``arch.min_size``; the exported
    graph pads to that and crops back, so the .onnx model takes any size."""

    down: nn.ModuleList
    res: nn.ModuleList
    up: nn.ModuleList
    out_conv: nn.Conv2d

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.register_buffer("single_style", torch.ones(1), persistent=False)

    @property
    def first_conv(self) -> nn.Conv2d:
        """Where the export folds the input scaling (BGR, /255) in."""
        return self.down[0].conv

    @property
    def last_conv(self) -> nn.Conv2d:
        """Where the export folds the output scaling (RGB->BGR, x255) in."""
        return self.out_conv

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor | None = None) -> torch.Tensor:
        w = self.single_style if style_weights is None else style_weights
        for layer in self.down:
            x = layer(x, w)
        for block in self.res:
            x = block(x, w)
        for layer in self.up:
            x = layer(x, w)
        return self.finish(x)


class JohnsonNet(EncoderDecoder):
    """Johnson et al. 2016 (see the module docstring)."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__(arch)
        c1, c2, c3 = arch.channels
        s = arch.num_styles
        self.down = nn.ModuleList([
            ConvNormAct(3, c1, 9, 1, s),
            ConvNormAct(c1, c2, 3, 2, s),
            ConvNormAct(c2, c3, 3, 2, s),
        ])
        self.res = nn.ModuleList([ResidualBlock(c3, s, d) for d in arch.block_dilations])
        self.up = nn.ModuleList([
            ConvNormAct(c3, c2, 3, 1, s, upsample=True),
            ConvNormAct(c2, c1, 3, 1, s, upsample=True),
        ])
        self.out_pad = nn.ReflectionPad2d(4)
        self.out_conv = nn.Conv2d(c1, 3, 9, 1)

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_conv(self.out_pad(x))


class SeparableNormAct(nn.Module):
    """(Nearest upsample x2 +) depthwise 3x3 + pointwise 1x1 + conditional instance norm (+ ReLU)."""

    def __init__(self, cin: int, cout: int, num_styles: int, upsample: bool = False, relu: bool = True,
                 dilation: int = 1) -> None:
        super().__init__()
        self.upsample = upsample
        self.depthwise = nn.Conv2d(cin, cin, 3, 1, padding=dilation, dilation=dilation, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1)
        self.norm = ConditionalInstanceNorm(cout, num_styles)
        self.relu = relu

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.norm(self.pointwise(self.depthwise(x)), style_weights)
        return F.relu(x) if self.relu else x


class StridedNormAct(nn.Module):
    """3x3 stride-2 convolution (zero padding fused in) + conditional instance norm + ReLU."""

    def __init__(self, cin: int, cout: int, num_styles: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 2, padding=1)
        self.norm = ConditionalInstanceNorm(cout, num_styles)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x), style_weights))


class SeparableResidual(nn.Module):
    def __init__(self, channels: int, num_styles: int, dilation: int = 1) -> None:
        super().__init__()
        self.a = SeparableNormAct(channels, channels, num_styles, dilation=dilation)
        self.b = SeparableNormAct(channels, channels, num_styles, relu=False, dilation=dilation)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, style_weights), style_weights)


class FastCPUNet(EncoderDecoder):
    """The CPU-first network (see the module docstring). Same call signature and I/O range as JohnsonNet."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__(arch)
        c1, c2, c3 = arch.channels
        s = arch.num_styles
        self.down = nn.ModuleList([StridedNormAct(3, c1, s), StridedNormAct(c1, c2, s), StridedNormAct(c2, c3, s)])
        self.res = nn.ModuleList([SeparableResidual(c3, s, d) for d in arch.block_dilations])
        self.up = nn.ModuleList([SeparableNormAct(c3, c2, s, upsample=True),
                                 SeparableNormAct(c2, c1, s, upsample=True)])
        self.out_conv = nn.Conv2d(c1, 3, 3, 1, padding=1)

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.out_conv(x), scale_factor=2.0, mode="bilinear", align_corners=False)


StyleNet = JohnsonNet | FastCPUNet


def build_network(arch: Architecture) -> StyleNet:
    """The network an architecture describes (the one place that maps ``kind`` to a class)."""
    return FastCPUNet(arch) if arch.kind == "fastcpu" else JohnsonNet(arch)
