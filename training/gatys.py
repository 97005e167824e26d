"""Per-image style transfer by optimisation (Gatys et al. 2016): the slow, highest-quality mode.

The pixels themselves are optimised to minimise the same perceptual loss the feed-forward networks are trained
on (losses.py), so its result is the quality ceiling those networks are measured against (`stylecast eval`).
L-BFGS converges in a few hundred evaluations and is the default; Adam is there for large images where L-BFGS's
history costs too much memory. Optimisation starts from the content photo, which keeps structure early and
makes results reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .losses import LossTerms, PerceptualLoss


@dataclass
class GatysResult:
    image: torch.Tensor          # (3, H, W) RGB in [0, 1]
    start: LossTerms
    end: LossTerms
    history: list[float]         # total loss after 0, 1, ..., steps steps: how fast optimisation gets there


def _parametrise(img: torch.Tensor) -> torch.Tensor:
    """Optimise in logit space so pixels stay inside [0, 1] without clipping that stalls gradients."""
    return torch.logit(img.clamp(1e-3, 1 - 1e-3))


def stylize_by_optimisation(content: torch.Tensor, loss_fn: PerceptualLoss, steps: int = 300,
                            method: str = "lbfgs", lr: float | None = None,
                            progress: Callable[[int, float], None] | None = None) -> GatysResult:
    """``content`` is (3, H, W) RGB in [0, 1]; returns the optimised image and the loss before and after."""
    content = content.unsqueeze(0)
    x = _parametrise(content).detach().requires_grad_(True)

    def terms() -> LossTerms:
        return loss_fn(torch.sigmoid(x), content)

    with torch.no_grad():
        start = terms()
    def new_optimizer() -> torch.optim.Optimizer:
        if method == "lbfgs":
            return torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=1, history_size=50, line_search_fn="strong_wolfe")
        if method == "adam":
            return torch.optim.Adam([x], lr=lr or 0.05)
        raise ValueError(f"unknown optimiser {method!r} (lbfgs, adam)")

    optimizer = new_optimizer()

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = terms().total
        loss.backward()
        return loss

    history: list[float] = []
    for step in range(1, steps + 1):
        loss = float(optimizer.step(closure).detach())  # both optimisers return the loss before their update
        if method == "lbfgs" and history and loss == history[-1]:
            # An L-BFGS step that changed nothing never will again: once its memory yields a direction that does
            # not descend, torch's L-BFGS returns at once on every call, and 3 of 4 eval photos sat at their
            # step-20 loss for 130 steps (an optimum too easy to match, --optimize stopping early). Forgetting
            # the memory restarts it from the gradient.
            optimizer = new_optimizer()
        history.append(loss)
        if progress is not None:
            progress(step, loss)
    with torch.no_grad():
        image = torch.sigmoid(x)
        end = loss_fn(image, content)
    return GatysResult(image=image[0].detach(), start=start, end=end, history=history + [float(end.total)])
