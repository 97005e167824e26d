"""Video files in and out with PyAV, keeping the soundtrack.

Why PyAV rather than OpenCV's VideoWriter or an ffmpeg subprocess: OpenCV cannot read or write audio, and piping
raw frames to ffmpeg needs a second process, a second parse of the input for its audio, and an ffmpeg binary on
PATH. PyAV's wheels carry FFmpeg (libx264, AAC) and let one demux pass feed decoded video frames to the
stylizer while the audio packets are copied untouched into the output (no re-encode, no quality loss). Audio the
output container cannot hold is transcoded (AAC in MP4/MOV/MKV, Opus in WebM).
"""

from __future__ import annotations

import math
import shutil
import struct
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Union

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from .errors import StylecastError
from .filters import FilterPipe, GifPalette, deinterlacer
from .hdr import HdrToSdr

VIDEO_CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9", ".gif": "gif"}
SILENT_TYPES = {".gif"}  # containers with no place for a soundtrack
EDIT_LIST_TYPES = {".mp4", ".mov"}  # containers whose edit lists let a track start part way into its first packet
# GIF times frames in hundredths of a second, and browsers play any delay under 2 of them as 10 (a 60 fps clip
# would crawl at a sixth of its speed), so a GIF keeps at most one frame per 1/50 s.
GIF_MIN_DELAY = Fraction(1, 50)
# A GIF's palette is made from the whole clip, so every frame waits on disk until the end (3 bytes a pixel,
# filters.GifPalette), beside the GIF itself (LZW codes for one palette index a pixel, at most ~1 byte).
GIF_BYTES_PER_PIXEL = 4
AUDIO_FALLBACK = {".webm": "libopus"}
COPYABLE_AUDIO = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le"},
    ".webm": {"opus", "vorbis"},
}


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    frames: int          # from the container header; 0 when unknown
    audio_codec: str | None
    hdr: str | None = None  # "HLG" or "PQ" when the picture is high dynamic range


@dataclass(frozen=True)
class VideoFrame:
    index: int
    image: np.ndarray    # HxWx3 uint8 BGR
    pts: int | None = None  # presentation time in the video stream's time base; None when the file has none


Item = Union[VideoFrame, av.Packet]

BT709 = 1  # the H.273 code of BT.709 for the matrix, the primaries and the transfer alike
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}  # H.273 transfer codes: HDR10 / Dolby Vision, and phones' HLG

# A file whose frames stop this long before the duration its header states is truncated (a copy or download cut
# short, a recorder that died): FFmpeg reads such a file to the cut and then reports a normal end of file.
TRUNCATION_SLACK_SECONDS = 0.5


@dataclass(frozen=True)
class FirstFrame:
    """What only a decoded frame tells: how the picture must be turned, and how bright an HDR10 clip says it
    gets."""
    quarter_turns: int = 0  # counter-clockwise, to stand as it is meant to be seen
    peak_nits: float | None = None  # MaxCLL, else the mastering display's peak; None when undeclared


def probe_first_frame(path: Path) -> FirstFrame:
    """Decode the first frame in a separate open, so the caller's demuxing starts at the beginning.

    Phones store a portrait clip as a landscape picture plus a display rotation; players turn it, but decoded
    frames come out as stored, so without the turn a portrait clip would be painted on its side. HDR10 clips carry
    their brightest light in the frames' side data, which the tone mapping needs."""
    try:
        with av.open(str(path)) as probe:
            frame = next(probe.decode(video=0), None)
    except av.FFmpegError:
        return FirstFrame()  # the caller's own decoding reports what is wrong with the file
    if frame is None:
        return FirstFrame()
    return FirstFrame(round((frame.rotation or 0) / 90) % 4, declared_peak(frame))


def declared_peak(frame: av.VideoFrame) -> float | None:
    """The peak luminance (cd/m²) an HDR10 frame declares. PyAV hands these side data over as raw bytes of
    FFmpeg's public structs: AVContentLightMetadata (MaxCLL, MaxFALL as unsigned ints) and
    AVMasteringDisplayMetadata (six primaries and a white point as rationals, then min and max luminance, then
    the has_primaries and has_luminance flags). They are looked up by name: iterating the container gives the
    side data themselves up to PyAV 18.1.0 but their types from 18.1.1 on, while ``get`` works in both."""
    def raw(name: str) -> bytes:
        data = frame.side_data.get(name)
        return b"" if data is None else bytes(data)

    light = raw("CONTENT_LIGHT_LEVEL")
    max_cll = struct.unpack_from("=I", light)[0] if len(light) >= 8 else 0
    if max_cll > 0:
        return float(max_cll)
    mastering = raw("MASTERING_DISPLAY_METADATA")
    if len(mastering) >= 88:
        numerator, denominator = struct.unpack_from("=ii", mastering, 72)
        has_luminance = struct.unpack_from("=i", mastering, 84)[0]
        if has_luminance and denominator > 0 and numerator > 0:
            return numerator / denominator
    return None


class RateLimit:
    """At most ``fps`` frames a second, by their own times: of the frames in each 1/``fps`` slot (counted from the
    first kept), the first."""

    def __init__(self, fps: Fraction) -> None:
        self.fps = fps
        self.first: float | None = None
        self.next_slot = -math.inf

    def keep(self, time: float) -> bool:
        if time < self.next_slot - 1e-6:
            return False
        self.first = time if self.first is None else self.first
        slot = math.floor((time - self.first) * self.fps + 1e-6)
        self.next_slot = self.first + float((slot + 1) / self.fps)
        return True


def _is_still(container: av.container.InputContainer) -> bool:
    """Whether FFmpeg opened a lone picture as a one-frame video (image2 for JPEG, an ``*_pipe`` demuxer for PNG,
    WebP, BMP, TIFF...)."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def holds_video(path: Path) -> bool:
    """Whether ``path`` holds a moving picture FFmpeg can open: the hint when a clip is given as a picture."""
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video) and not _is_still(container)
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        return False


class VideoReader:
    """Decodes a file's first video stream to BGR frames as players show them (upright, square pixels, whole
    frames from interlaced fields, HDR tone-mapped to standard range), passing its first audio stream's packets
    along."""

    def __init__(self, path: Path) -> None:
        if not Path(path).is_file():
            raise StylecastError(f"input not found: {path}")
        try:
            self.container = av.open(str(path))
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise StylecastError(f"{path} is not a readable video ({reason})") from None
        if not self.container.streams.video:
            self.container.close()
            raise StylecastError(f"{path} has no video stream")
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"
        # The live window may loop a lone picture; a conversion to a video file should say "use stylecast image".
        self.still = _is_still(self.container)
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(30)
        first = probe_first_frame(path)
        self.turns = first.quarter_turns
        self.deinterlacer: FilterPipe | None = None  # started by the first interlaced frame (see _whole_frames)
        width, height = self.video.codec_context.width, self.video.codec_context.height
        # Non-square pixels (DVD, DV, broadcast captures): decode straight to the square-pixel size players show,
        # or every circle would be painted and written squeezed.
        aspect = self.video.sample_aspect_ratio
        self.decode_size: dict[str, int] = {}
        if aspect and aspect > 0 and aspect != 1:
            width = max(2, round(width * aspect))
            self.decode_size = {"width": width, "height": height}
        if self.turns % 2:
            width, height = height, width
        self.info = VideoInfo(width, height, Fraction(rate), int(self.video.frames or 0),
                              self.audio.codec_context.name if self.audio else None,
                              HDR_TRANSFERS.get(int(self.video.codec_context.color_trc)))
        if self.info.width <= 0 or self.info.height <= 0:
            self.container.close()
            raise StylecastError(f"{path}: the video stream has no picture size")
        self.to_sdr = HdrToSdr(self.info.hdr, first.peak_nits) if self.info.hdr else None
        self.path = path
        self.span: tuple[float, float | None] = (0.0, None)  # seconds from the first frame (see trim)
        self.max_rate: Fraction | None = None  # frames a second at most (see limit_rate)

    def _whole_frames(self, packet: av.Packet) -> list[av.VideoFrame]:
        """The packet's decoded frames as whole pictures. Camcorders, DV and broadcast captures store interlaced
        fields, which a style network would paint as comb teeth on every moving edge; a recording may begin
        progressive and turn interlaced later (a broadcast cutting from a film to a studio), so the deinterlacer
        starts at the first interlaced frame, and from then on passes progressive frames through untouched."""
        frames = packet.decode()
        whole: list[av.VideoFrame] = []
        if self.deinterlacer is None:
            first = next((i for i, frame in enumerate(frames) if frame.interlaced_frame), len(frames))
            if first == len(frames):
                return frames
            whole, frames = frames[:first], frames[first:]
            self.deinterlacer = deinterlacer(self.video)
        whole += [done for frame in frames for done in self.deinterlacer.push(frame)]
        if packet.size == 0:  # the demuxer's closing empty packet: the decoder has given its last frames
            whole += self.deinterlacer.flush()
        return whole

    def _picture(self, frame: av.VideoFrame) -> np.ndarray:
        """One decoded frame as BGR uint8 the way it is meant to be seen."""
        if self.to_sdr is not None:  # HDR: 16-bit RGB keeps the highlights for the tone mapping
            image = self.to_sdr(frame.to_ndarray(format="rgb48le", **self.decode_size))
        else:
            image = frame.to_ndarray(format="bgr24", **self.decode_size)
        return np.ascontiguousarray(np.rot90(image, self.turns)) if self.turns else image

    def seconds(self) -> float | None:
        """The video stream's stated length, or None when the file does not say."""
        if self.video.duration:
            return float(self.video.duration * self.video.time_base)
        return self.container.duration / av.time_base if self.container.duration else None

    def trim(self, start: float = 0.0, duration: float | None = None) -> None:
        """Read only ``duration`` seconds from ``start`` (seconds from the first frame) on; the frames and sound
        come out timed from the start of that part. Refused when the clip is known to end before ``start``."""
        length = self.seconds()
        if length is not None and start >= length:
            raise StylecastError(f"{self.path} is {length:.1f} s long: nothing to paint from {start:g} s on")
        self.span = (start, None if duration is None else start + duration)
        end = length if duration is None or length is None else min(length, start + duration)
        if end is not None:
            self.info = replace(self.info, frames=max(1, round((end - start) * self.info.fps)))

    def limit_rate(self, fps: float) -> bool:
        """Yield at most ``fps`` frames a second (see :class:`RateLimit`); returns whether that drops any. Kept
        frames keep their own times and the sound is untouched, so picture and sound stay together; frames are
        never invented, so a higher rate than the clip's changes nothing."""
        self.max_rate = Fraction(fps).limit_denominator(1001)
        if self.max_rate >= self.info.fps:
            return False
        frames = math.ceil(self.info.frames * self.max_rate / self.info.fps) if self.info.frames else 0
        self.info = replace(self.info, fps=self.max_rate, frames=frames)
        return True

    def items(self, with_audio: bool = True, sound_before_start: bool = False) -> Iterator[Item]:
        """Video frames (decoded, BGR) and audio packets (raw), in file order, of the part :meth:`trim` chose, at
        most as many frames a second as :meth:`limit_rate` allows.

        Sound comes in packets of ~21 ms, which a part's start falls inside. ``sound_before_start`` (for a writer
        that can drop the samples before time 0, see :attr:`VideoWriter.sound_before_start`) keeps that packet,
        timed from before the start, and the one before it: a decoder needs it to warm up, as an AAC frame overlaps
        the one before. The sound then starts exactly with the part. Otherwise the packet is left out and the
        sound starts up to one packet late (in step, but silent till then): an MKV or WebM whose sound is copied
        would shift every stream to make its time non-negative."""
        streams = [self.video] + ([self.audio] if with_audio and self.audio else [])
        start, end = self.span
        origin = float((self.video.start_time or 0) * self.video.time_base)
        finish = origin + end if end is not None else math.inf
        if start > 0:
            begin = origin + start  # to the keyframe before it; the frames up to it are decoded and dropped
            self.container.seek(int(begin * av.time_base), backward=True)
            # A trimmed part is timed from its start, in each stream's own time base.
            shift = {stream.index: round(begin / stream.time_base) for stream in streams}
        else:  # untrimmed, nothing is dropped (frames an edit list places before the first are written at 0)
            begin, shift = -math.inf, {stream.index: 0 for stream in streams}
        index, ended, sound_ended = 0, False, len(streams) == 1
        rate = RateLimit(self.max_rate) if self.max_rate is not None else None
        last_time: float | None = None
        warm_up: list[av.Packet] = []  # the sound packet before the one the part starts in
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is None:
                        continue
                    when = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base)
                    heard_until = when + float((packet.duration or 0) * packet.time_base)
                    if when >= finish:
                        sound_ended = True
                    elif when >= begin or (sound_before_start and heard_until > begin + 1e-6):
                        for kept in warm_up + [packet]:
                            if kept.pts is not None:
                                kept.pts -= shift[kept.stream.index]
                            kept.dts -= shift[kept.stream.index]
                            yield kept
                        warm_up = []
                    elif sound_before_start:
                        warm_up = [packet]
                elif not ended:
                    for frame in self._whole_frames(packet):
                        if frame.time is not None and frame.time < begin - 1e-6:  # decoded from the keyframe before
                            continue
                        if frame.time is not None and frame.time >= finish - 1e-6:
                            ended = True  # packets of both streams interleave loosely: read on until both end
                            break
                        if rate is not None and frame.time is not None and not rate.keep(frame.time):
                            continue
                        yield VideoFrame(index, self._picture(frame),
                                         None if frame.pts is None else frame.pts - shift[self.video.index])
                        index += 1
                        last_time = frame.time if frame.time is not None else last_time
                if ended and sound_ended:
                    break
        except av.FFmpegError as exc:
            reason = exc.strerror or str(exc).splitlines()[0]
            raise StylecastError(f"{self.path}: decoding failed after {index} frames ({reason})") from None
        if index == 0:
            raise StylecastError(f"{self.path} contains no decodable video frames")
        if not ended:
            self._check_complete(last_time, origin)

    def _check_complete(self, last_time: float | None, origin: float) -> None:
        """Raise if the frames ended well before the video stream's stated duration (a truncated file); the
        container's duration is not trusted for this, since it may count a longer audio stream."""
        if last_time is None or not self.video.duration:
            return
        stated_end = origin + self.seconds()
        decoded_end = last_time + 1 / float(self.info.fps)
        if decoded_end < stated_end - TRUNCATION_SLACK_SECONDS:
            raise StylecastError(f"{self.path} stops at {decoded_end:.1f} s of its {stated_end:.1f} s: the file is "
                                 "truncated or damaged")

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def video_codec_for(path: Path) -> str:
    """The encoder for an output file name, or a StylecastError listing the supported types."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise StylecastError(f"unsupported video type {suffix or '(none)'}; use one of "
                             f"{', '.join(sorted(VIDEO_CODECS))}")
    return VIDEO_CODECS[suffix]


def check_gif_room(width: int, height: int, frames: int, folder: Path) -> None:
    """Refuse, before any painting, a GIF whose waiting frames would not fit on the disk of its ``folder``."""
    need, free = width * height * GIF_BYTES_PER_PIXEL * frames, shutil.disk_usage(folder).free
    if need > free:
        raise StylecastError(f"a {width}x{height} GIF of {frames} frames needs {_amount(need)} free in {folder} "
                             f"while its 256 colours are chosen, and {_amount(free)} is; use a smaller --size, "
                             "a shorter clip or .mp4")


def _amount(size: int) -> str:
    """Bytes as people read them: 133 MB, 4.8 GB."""
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def expected_gif_frames(frames: int, fps: Fraction) -> int:
    """How many of a constant-rate clip's ``frames`` a GIF keeps at :data:`GIF_MIN_DELAY` (all up to 50 fps, every
    other one at 60 fps), for checks made before the conversion starts."""
    return math.ceil(frames / math.ceil(Fraction(fps) * GIF_MIN_DELAY))


def from_time_zero(frame: av.AudioFrame) -> av.AudioFrame | None:
    """``frame`` without its samples timed before 0, or None when all of them are: the part of a warm-up packet
    (see :meth:`VideoReader.items`) that comes before a trimmed part's start."""
    if frame.time is None or frame.time >= 0:
        return frame
    skip = round(-frame.time * frame.sample_rate)
    if skip >= frame.samples:
        return None
    samples = frame.to_ndarray()  # planar: a row per channel; packed: one row, channels interleaved
    step = 1 if frame.format.is_planar else len(frame.layout.channels)
    kept = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, skip * step:]), format=frame.format.name,
                                      layout=frame.layout.name)
    kept.sample_rate, kept.time_base, kept.pts = frame.sample_rate, frame.time_base, 0
    return kept


def encoder_rate(codec: str, wanted: int | None) -> int:
    """The sample rate to encode at: ``wanted`` where the encoder takes it, else the nearest it takes above (Opus
    runs only at 8-48 kHz steps, so a CD-rate 44.1 kHz soundtrack goes to WebM at 48 kHz)."""
    rates = sorted(av.codec.Codec(codec, "w").audio_rates or [])
    wanted = wanted or 48000
    if not rates or wanted in rates:
        return wanted
    return next((r for r in rates if r > wanted), rates[-1])


class VideoWriter:
    """Encodes BGR frames; copies or transcodes one audio stream alongside, or encodes raw samples
    (``pcm=(rate, channels)``, e.g. a microphone's) with :meth:`write_pcm`.

    Frames are timed either at a constant ``fps`` (a recording) or by the timestamps given to :meth:`write` in
    ``time_base`` (a conversion passes the input's own): phones record at a variable frame rate, slowing down in
    dim light, and re-timing such a clip at its average rate would drift the picture seconds away from its
    soundtrack."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction,
                 audio: av.audio.stream.AudioStream | None = None, pcm: tuple[int, int] | None = None,
                 time_base: Fraction | None = None, tags: dict[str, str] | None = None) -> None:
        suffix = self.suffix = Path(path).suffix.lower()  # atomic_output's temporary names keep the final suffix
        codec = video_codec_for(Path(path))
        if suffix in SILENT_TYPES and (audio is not None or pcm is not None):
            raise StylecastError(f"{suffix} files hold no sound; leave the audio out")
        if codec != "gif" and (width % 2 or height % 2):
            raise StylecastError(f"video size {width}x{height} must be even for H.264/VP9 (yuv420p)")
        self.time_base = Fraction(time_base) if time_base else 1 / Fraction(fps)
        self.size = (width, height)
        self.container = av.open(str(path), mode="w", format={".mkv": "matroska"}.get(suffix, suffix[1:]))
        if codec != "gif":
            self.container.metadata.update(tags or {})  # a source's date and place (a GIF has nowhere for them)
        self.video = self.container.add_stream(codec, rate=fps)
        context = self.video.codec_context
        self.gif = GifPalette(width, height, self.time_base, Path(path).parent) if codec == "gif" else None
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p" if self.gif is None else "pal8"
        self.video.options = {"crf": "18", "preset": "veryfast"} if codec == "libx264" else {}
        if self.gif is None:
            # BT.709, said in the stream: an untagged stream leaves players to guess the colour matrix (BT.601
            # below 720p in most, BT.709 in browsers), and a wrong guess shifts reds and greens by several per cent.
            context.colorspace = context.color_primaries = context.color_trc = BT709
            context.color_range = ColorRange.MPEG
        context.time_base = self.time_base
        self.frame_ticks = max(1, round(1 / (Fraction(fps) * self.time_base)))  # one frame's length in ticks
        self.last_pts: int | None = None
        self.audio_out = None
        self.resampler: av.AudioResampler | None = None  # set when audio is encoded here rather than copied
        if audio is not None:
            if audio.codec_context.name in COPYABLE_AUDIO.get(suffix, {audio.codec_context.name}):
                self.audio_out = self.container.add_stream_from_template(audio)
            else:
                source = audio.codec_context
                self._add_audio_encoder(suffix, source.sample_rate, len(source.layout.channels))
        elif pcm is not None:
            self.pcm_rate, channels = pcm
            self._add_audio_encoder(suffix, self.pcm_rate, channels)
        self.frames = 0
        self.samples = 0

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame at ``pts`` (in ``time_base``), or one frame after the last when it has no timestamp.
        Timestamps that do not increase (a damaged file) are moved just after the last, so no frame is lost. A GIF
        skips frames that come sooner than :data:`GIF_MIN_DELAY` after the last it kept."""
        if self.last_pts is None:
            pts = max(0, pts or 0)  # a frame before the start (an edit list's) plays from 0
        elif pts is None:
            pts = self.last_pts + self.frame_ticks
        else:
            pts = max(pts, self.last_pts + 1)
        if self.gif is not None:
            if self.last_pts is not None and (pts - self.last_pts) * self.time_base < GIF_MIN_DELAY:
                return
            self.gif.add(image, pts)
        else:
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(
                format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
            frame.pts, frame.time_base = pts, self.time_base
            self._encode([frame])
        self.last_pts = pts
        self.frames += 1

    def _encode(self, frames: Iterable[av.VideoFrame]) -> None:
        for frame in frames:
            self.container.mux(self.video.encode(frame))

    @property
    def sound_before_start(self) -> bool:
        """Whether sound timed before 0 (the head of the packet a trimmed part starts in) is skipped exactly: by
        the file's edit list when the sound is copied into an MP4 or MOV (see :data:`EDIT_LIST_TYPES`), or here
        when it is encoded anew (see :meth:`write_audio`)."""
        return self.audio_out is not None and (self.resampler is not None or self.suffix in EDIT_LIST_TYPES)

    def write_audio(self, packet: av.Packet) -> None:
        """Copy one sound packet, or decode and encode it anew when the output cannot hold its codec; sound
        timed before 0 is then left out to the sample."""
        if self.audio_out is None:
            return
        if self.resampler is None:
            packet.stream = self.audio_out
            self.container.mux(packet)
            return
        for decoded in packet.decode():
            heard = from_time_zero(decoded)
            if heard is not None:
                self._encode_audio(heard)

    def write_pcm(self, samples: np.ndarray) -> None:
        """Raw float32 samples, [n, channels] (the writer must have been opened with ``pcm``)."""
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32).reshape(1, -1), format="flt",
                                           layout=self.audio_out.layout.name)
        frame.sample_rate, frame.time_base = self.pcm_rate, Fraction(1, self.pcm_rate)
        frame.pts = self.samples
        self.samples += len(samples)
        self._encode_audio(frame)

    def _add_audio_encoder(self, suffix: str, rate: int | None, channels: int) -> None:
        """The audio encoder the output type takes (AAC; Opus for WebM) at the nearest rate it takes to ``rate``,
        mono for one channel and stereo for more (mono made stereo would play 3 dB quieter on each side; surround
        is mixed to stereo), and a resampler that converts any audio to its sample format, layout and rate."""
        codec = AUDIO_FALLBACK.get(suffix, "aac")
        self.audio_out = self.container.add_stream(codec, rate=encoder_rate(codec, rate))
        self.audio_out.layout = "mono" if channels == 1 else "stereo"
        context = self.audio_out.codec_context
        self.resampler = av.AudioResampler(format=context.format.name, layout=context.layout.name,
                                           rate=context.sample_rate)

    def _encode_audio(self, frame: av.AudioFrame | None) -> None:
        """Resample and encode ``frame``; None flushes the resampler."""
        for resampled in self.resampler.resample(frame):
            self.container.mux(self.audio_out.encode(resampled))

    def close(self) -> None:
        """Flush the encoders and finish the file (the file is only valid after this)."""
        if self.gif is not None:
            self._encode(self.gif.mapped())  # the palette is made now, and every frame mapped to it
            self.gif.close()
        self.container.mux(self.video.encode(None))
        if self.resampler is not None:
            self._encode_audio(None)  # the resampler's last samples
            self.container.mux(self.audio_out.encode(None))
        self.container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, error_type: type[BaseException] | None, *exc: object) -> None:
        """Finish the file after a clean run; after an error, or when finishing itself fails (a full disk), stop
        without finishing, for the caller's atomic output to delete."""
        if error_type is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop without finishing (the caller deletes the temporary file)."""
        if self.gif is not None:
            self.gif.close()
        try:
            self.container.close()
        except av.FFmpegError:
            pass
