"""The training loop: perceptual-loss training of a StyleNet, single process or DistributedDataParallel.

Launch plainly for one process, or with ``torchrun --nproc_per_node N`` for data parallelism (gloo on CPU, NCCL
on CUDA); ranks split one deterministic global batch, so N processes follow the single-process loss curve.
Mixed precision: bf16 autocast on CUDA and on CPUs with native bf16 (AVX-512-BF16 or AMX: about half the step
time); fp16 with a gradient scaler on CUDA if asked. Checkpoints every ``checkpoint_every`` steps, on
Ctrl-C/SIGTERM, and at the end.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from realtime.errors import StylecastError

from . import checkpoint
from .data import CropSampler, load_rgb, resize_long_side, split_images, to_unit
from .divergence import DivergenceGuard
from .distill import DistillLoss, DistillTerms, StyleTerm, Teacher, teacher_styles
from .losses import PerceptualLoss, StyleTargets
from .network import StyleNet, build_network
from .onnx_import import continuation_state
from .recipe import CONTINUATION_CHANGES, FLAGS, RESUME_CHANGES, Recipe, shown
from .stability import Perturbation, stability_term
from .vgg import VGGFeatures


CALIBRATION_STEP = 10**9  # crops drawn for the content normaliser come from their own random stream
# Steps between reads of the losses back from a GPU. Each read waits for the GPU to finish every queued kernel, and a
# Johnson-size step on an H200 is bound by kernel launches (~40 steps/s at batch 4), so reading every step leaves
# the GPU idle while Python queues the next step. The divergence guard still sees every step's loss, late by at
# most this many steps, and always before a checkpoint is written. On a CPU there is nothing to overlap.
GPU_READBACK_EVERY = 16


@dataclass
class TrainResult:
    """What a run did: the loss per step (rank-averaged) and where its checkpoints are."""

    losses: dict[int, float] = field(default_factory=dict)
    checkpoint_dir: Path | None = None
    interrupted: bool = False
    steps_run: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise StylecastError("--device cuda: no CUDA device is available to torch")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


FRESH_MOMENTS_WARMUP = 100  # steps of rate ramp after Adam's moments start afresh (`train --help` says 100)


def warmup_factor(step: int, moments_from: int | None) -> float:
    """The share of the scheduled rate for the step after ``step`` when Adam's moments started afresh at
    ``moments_from`` on trained weights (None: they did not).

    Adam's first update moves every weight by the full rate whatever its gradient (the bias-corrected ratio of
    the moments is +-1 on the first step): on a trained network at 3e-4 that wrecks it in one step (Composition
    VII's style loss went from 0.79 to 3-4 and stayed there). A linear ramp keeps those first, badly estimated
    steps small until the moments have seen enough gradients."""
    if moments_from is None:
        return 1.0
    return min(1.0, (step - moments_from + 1) / FRESH_MOMENTS_WARMUP)


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 in hardware here. Without it bf16 is emulated and a training step is some 12x
    slower than in fp32 (measured on an AVX2-only EPYC), so ``auto`` must not pick it."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp``; ``auto`` is bf16 where it is fast (CUDA, bf16 CPUs), else fp32 (None)."""
    if amp == "none":
        return None
    if amp == "fp16":
        if device.type != "cuda":
            raise StylecastError("amp fp16 needs CUDA; use bf16 on the CPU")
        return torch.float16
    if amp == "bf16" or (amp == "auto" and (device.type == "cuda" or cpu_has_native_bf16())):
        return torch.bfloat16
    if amp == "auto":
        return None
    raise StylecastError(f"unknown amp mode {amp!r} (auto, bf16, fp16, none)")


@contextlib.contextmanager
def distributed(device: torch.device) -> Iterator[Dist]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield Dist()
        return
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        yield Dist(dist.get_rank(), dist.get_world_size())
    finally:
        dist.destroy_process_group()


class StopRequest:
    """Ctrl-C / SIGTERM ask the loop to stop at the next step boundary, so the checkpoint is written outside any
    half-finished step, TensorBoard write or file save. A second signal stops at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def installed(self) -> Iterator["StopRequest"]:
        try:
            previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: leave signals alone
            yield self
            return
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class Distillation:
    """Objective of a distilled run: the teacher paints each crop, the student is scored against that.
    ``teacher_index[i]`` is the teacher's index of the student's style ``i``."""

    def __init__(self, teacher: Teacher, teacher_index: list[int], loss: DistillLoss) -> None:
        self.teacher = teacher
        self.teacher_index = teacher_index
        self.loss = loss.to(next(loss.vgg.buffers()).device)

    def __call__(self, out: torch.Tensor, content: torch.Tensor, style_index: torch.Tensor) -> DistillTerms:
        painted = self.teacher(content, self.teacher_index[int(style_index[0])])
        target = painted.contiguous(memory_format=torch.channels_last)
        return self.loss(out, target, style_index)


def style_targets(recipe: Recipe) -> list[torch.Tensor]:
    if not recipe.styles:
        raise StylecastError("no style image given (--style-image or a recipe with styles)")
    return [to_unit(load_rgb(Path(s.image), max_side=recipe.style_size)) for s in recipe.styles]


def preview_photos(held_out: list[Path], size: int, count: int = 4) -> torch.Tensor:
    """A few fixed held-out photos, centre-cropped square, for the preview grid."""
    photos = []
    for path in held_out[:count]:
        img = resize_long_side(load_rgb(path), size * 2)
        h, w = img.shape[1:]
        side = (min(h, w) // 4) * 4
        top, left = (h - side) // 2, (w - side) // 2
        photos.append(to_unit(resize_long_side(img[:, top:top + side, left:left + side], size)))
    return torch.stack(photos) if photos else torch.empty(0, 3, size, size)


class Trainer:
    def __init__(self, recipe: Recipe, checkpoint_dir: Path, vgg_weights: Path | None, device: str = "auto",
                 log_dir: Path | None = None, resume: bool = False, progress: bool = True,
                 from_model: Path | None = None, readback_every: int | None = None,
                 given: dict[str, Any] | None = None) -> None:
        """``given``: the recipe settings named on the command line (recipe field -> value). A resumed run or a
        continued model file takes those it may change instead of the stored run's (``recipe.RESUME_CHANGES``, and
        ``CONTINUATION_CHANGES`` for a file) and refuses the others where they differ from the stored run's, so
        no flag is silently ignored."""
        self.device = pick_device(device)
        self.readback_every = readback_every or (GPU_READBACK_EVERY if self.device.type == "cuda" else 1)
        self.checkpoint_dir = checkpoint_dir
        self.vgg_weights = vgg_weights
        self.log_dir = log_dir
        self.progress = progress
        self.start_step = 0
        state = None
        if resume:
            state, warnings = checkpoint.load_latest(checkpoint_dir)
            for w in warnings:
                print(f"stylecast: warning: {w}; trying an older checkpoint")
            if state is None:
                start = f"from {from_model}" if from_model is not None else "from scratch"
                print(f"stylecast: --resume found no checkpoint in {checkpoint_dir}; starting {start}")
        if state is None and from_model is not None:
            # A checkpoint of this run, when there is one, still wins: it has the optimiser's moments too.
            state = continuation_state(from_model)
            if recipe.steps <= state["step"]:
                raise StylecastError(f"{from_model} already has {state['step']} steps; pass --steps above that "
                                     "to train it further")
        # A model file continued (its weights, fresh optimiser moments), not a checkpoint resumed.
        continues_file = state is not None and "optimizer" not in state
        if state is not None:
            stored = Recipe.from_dict(state["recipe"])
            recipe = recipe.resumed_from(stored, int(state["step"]))
            recipe = self._with_given(recipe, given or {}, continues_file, from_model)
            if continues_file:  # every checkpoint holds the optimiser, so only a --from-model file lacks it
                print(f"stylecast: continuing {from_model} from step {state['step']} (its weights; the optimiser's "
                      "moments start afresh)")
                changed = recipe.continuation_changes_from(stored)
                if changed:
                    print(f"stylecast: the continuation changes {'; '.join(changed)}")
            self.start_step = int(state["step"])
        # The step at which Adam's moments started afresh on trained weights (a continued model file), kept in
        # checkpoints so a resumed continuation warms up exactly as the unbroken one would; None for other runs.
        self.moments_from: int | None = (self.start_step if continues_file else (state or {}).get("moments_from"))
        if not recipe.content_dir:
            raise StylecastError("no training photos: pass --content-dir (or a recipe with content_dir)")
        if recipe.arch.num_styles != len(recipe.styles):
            recipe = recipe.with_overrides(**{"arch.num_styles": len(recipe.styles)})
        self.recipe = recipe
        self.state = state
        # The loss curve travels in checkpoints, so a resumed run's history is the whole run's history.
        self.losses: dict[int, float] = {int(k): float(v) for k, v in (state or {}).get("losses", {}).items()}

    def _with_given(self, recipe: Recipe, given: dict[str, Any], continues_file: bool,
                    from_model: Path | None) -> Recipe:
        """The stored run's ``recipe`` with the command line's settings it may take; an error naming any other
        setting the command line gives a value the run does not have."""
        movable = RESUME_CHANGES + (CONTINUATION_CHANGES if continues_file else ())
        recipe = recipe.with_overrides(**{k: v for k, v in given.items() if k in movable})
        # resumed_from has decided these: the budget grows, and a schedule may only change from the saved step on.
        kept = recipe.not_taken({k: v for k, v in given.items() if k not in ("steps", "lr_schedule")})
        if not kept:
            return recipe
        asked = ", ".join(f"{FLAGS[k]} {shown(given[k])}" for k in kept)
        has = ", ".join(shown(recipe.setting(k)) for k in kept)
        if continues_file:
            may = ", ".join(FLAGS[k] for k in RESUME_CHANGES + CONTINUATION_CHANGES)
            raise StylecastError(
                f"{asked} cannot apply to a continuation of {from_model} (it has {has}): a continued model keeps its "
                f"network, paintings and base rate, and may change only {may} and --lr-schedule from its step on; "
                "train a new model for the rest")
        raise StylecastError(
            f"{asked} would change the run resumed from {self.checkpoint_dir} (it has {has}): a resumed run is the "
            "same run, and may change only --steps, later --lr-schedule entries, --checkpoint-every, "
            "--preview-every, --amp and --content-dir; to train on with other settings, continue its exported "
            "model with --from-model")

    def run(self) -> TrainResult:
        with distributed(self.device) as d, StopRequest().installed() as stop:
            return self._run(d, stop)

    def _run(self, d: Dist, stop: StopRequest) -> TrainResult:
        r = self.recipe
        torch.manual_seed(r.seed)
        if r.batch_size % d.world:
            raise StylecastError(f"batch size {r.batch_size} does not split over {d.world} processes")
        train_files, held_out = split_images(Path(r.content_dir), r.holdout_every)
        sampler = CropSampler(train_files, r.size, r.seed, self.device)
        loss_fn = self._objective(sampler)
        model = build_network(r.arch).to(self.device).to(memory_format=torch.channels_last)
        # Fused on CUDA: one kernel for the whole update instead of several per parameter tensor.
        optimizer = torch.optim.Adam(model.parameters(), lr=r.lr, fused=self.device.type == "cuda")
        if self.state is not None:
            model.load_state_dict(self.state["model"])
            if "optimizer" in self.state:  # not when the run continues a model file
                optimizer.load_state_dict(self.state["optimizer"])
        net = DistributedDataParallel(model) if d.world > 1 else model
        amp = autocast_dtype(r.amp, self.device)
        scaler = torch.amp.GradScaler(self.device.type, enabled=amp == torch.float16)
        writer = self._writer(d)
        previews = preview_photos(held_out, r.size).to(self.device)
        per_rank = r.batch_size // d.world
        result = TrainResult(checkpoint_dir=self.checkpoint_dir, losses=self.losses)
        step = self.start_step
        guard = DivergenceGuard()
        bar = tqdm(total=r.steps, initial=step, disable=not (d.main and self.progress), unit="step",
                   dynamic_ncols=True)
        started = time.perf_counter()
        pending: list[tuple[int, torch.Tensor]] = []  # each unread step and its losses, still on the device
        # One-hot style codes made on the device once: a copy from host memory each step would wait for the GPU.
        style_codes = torch.eye(len(r.styles), device=self.device)
        names: tuple[str, ...] = ()

        def record() -> None:
            """Read the pending steps' losses back in one transfer, check each against the divergence guard, and
            log them."""
            if not pending:
                return
            rows = self._reduce(torch.stack([losses for _, losses in pending]), d).tolist()
            steps = [at for at, _ in pending]
            pending.clear()
            for at, row in zip(steps, rows, strict=True):
                if not math.isfinite(row[0]):
                    raise StylecastError(f"loss became {row[0]} at step {at}; lower --lr or the weights")
                jump = guard.diverged(row[0])
                if jump is not None:
                    raise StylecastError(self._divergence_message(at, jump, guard.window))
                result.losses[at] = row[0]
                if writer is not None and at % 10 == 0:
                    for name, value in zip(("total", *names), row, strict=True):
                        writer.add_scalar(f"loss/{name}", value, at)
            bar.update(len(rows))
            bar.set_postfix({k: f"{v:.4f}" for k, v in zip(("total", *names), rows[-1], strict=True)})

        try:
            while step < r.steps:
                if self._stop_agreed(stop, d):
                    raise KeyboardInterrupt
                style_index = step % len(r.styles)
                weights = style_codes[style_index]
                content = sampler.batch(step, r.batch_size)[d.rank * per_rank:(d.rank + 1) * per_rank]
                content = content.to(self.device).contiguous(memory_format=torch.channels_last)
                with torch.autocast(self.device.type, dtype=amp or torch.float32, enabled=amp is not None):
                    out = net(content, weights)
                    named = loss_fn(out, content, torch.full((per_rank,), style_index, device=self.device)).named()
                    if r.losses.stability > 0:
                        # The raw module, not the DDP wrapper: DDP allows one forward per backward, and the
                        # gradients of this second pass still meet the first's before DDP's all-reduce hooks.
                        perturbation = torch.Generator().manual_seed(r.seed * 1_000_003 + step * 64 + d.rank)
                        named["stability"] = r.losses.stability * stability_term(
                            model, content, out, weights, Perturbation(), perturbation)
                    loss = sum(t.mean() for t in named.values())
                for group in optimizer.param_groups:
                    group["lr"] = r.lr_at(step) * warmup_factor(step, self.moments_from)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                step += 1
                names = tuple(named)
                pending.append((step, torch.stack([loss.detach(), *(t.mean().detach() for t in named.values())])))
                preview = step % r.preview_every == 0 or step == r.steps
                save = step % r.checkpoint_every == 0 or step == r.steps
                if preview or save or len(pending) >= self.readback_every:
                    record()  # before a checkpoint: a diverged step must not be saved
                if d.main and preview:
                    self._preview(model, previews, weights, writer, step)
                if d.main and save:
                    self._save(model, optimizer, step)
        except KeyboardInterrupt:
            result.interrupted = True
            record()
            if d.main and step > self.start_step:
                path = self._save(model, optimizer, step)
                bar.write(f"stylecast: interrupted at step {step}; saved {path} (continue with --resume)",
                          file=sys.stderr)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        result.seconds = time.perf_counter() - started
        result.steps_run = step - self.start_step
        self.model = model
        return result

    def _objective(self, sampler: CropSampler) -> "PerceptualLoss | Distillation":
        """What the network is trained to minimise: perceptual losses against the paintings, or, when the
        recipe names a teacher model, matching that model's output (distillation)."""
        r = self.recipe
        vgg = VGGFeatures(self.vgg_weights).to(self.device).to(memory_format=torch.channels_last)
        if r.teacher:
            teacher = Teacher(Path(r.teacher), self.device)
            teacher_index = teacher_styles(teacher, [s.style_name for s in r.styles])
            w = r.losses
            style = (StyleTerm(w.distill_style, StyleTargets(vgg, w.style_layers,
                                                             [t.to(self.device) for t in style_targets(r)]))
                     if w.distill_style > 0 else None)
            return Distillation(teacher, teacher_index, DistillLoss(vgg, w.distill_pixel, w.distill_feature, style))
        loss_fn = PerceptualLoss(vgg, r.losses, [t.to(self.device) for t in style_targets(r)]).to(self.device)
        loss_fn.content_scale = loss_fn.content_energy(sampler.batch(CALIBRATION_STEP, 16).to(self.device))
        return loss_fn

    def _divergence_message(self, step: int, jump: float, window: int) -> str:
        good = checkpoint.newest_before(self.checkpoint_dir, step - window)
        keep = f"the newest checkpoint from before it is {good} (export it: stylecast export {good})" if good \
            else "no checkpoint predates it"
        return (f"the loss diverged at step {step} (the median of the last {window} steps is {jump:.0f}x the level "
                f"before); checkpoints after step {step - window} may be damaged and {keep}; retrain with a lower --lr")

    def _stop_agreed(self, stop: StopRequest, d: Dist) -> bool:
        """True when any rank was asked to stop, so all ranks leave the loop at the same step."""
        if d.world == 1:
            return stop.requested
        flag = torch.tensor([1.0 if stop.requested else 0.0], device=self.device)
        dist.all_reduce(flag)
        return bool(flag.item())

    @staticmethod
    def _reduce(values: torch.Tensor, d: Dist) -> torch.Tensor:
        values = values.float().cpu()
        if d.world > 1:
            dist.all_reduce(values)
            values /= d.world
        return values

    def _writer(self, d: Dist):  # noqa: ANN202 - SummaryWriter import is optional-heavy
        if not d.main or self.log_dir is None:
            return None
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(self.log_dir))

    def _preview(self, model: StyleNet, photos: torch.Tensor, weights: torch.Tensor, writer, step: int) -> None:
        if len(photos) == 0:
            return
        from torchvision.utils import make_grid, save_image

        model.eval()
        with torch.no_grad():
            out = model(photos, weights).float().clamp(0, 1)
        model.train()
        grid = make_grid(torch.cat([photos, out]), nrow=len(photos))
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.checkpoint_dir / "preview.png")
        if writer is not None:
            writer.add_image("preview", grid, step)

    def _save(self, model: StyleNet, optimizer: torch.optim.Optimizer, step: int) -> Path:
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "recipe": self.recipe.to_dict(),
            "losses": {str(k): v for k, v in self.losses.items()},
        }
        if self.moments_from is not None:
            state["moments_from"] = self.moments_from
        return checkpoint.save(self.checkpoint_dir, step, state)
