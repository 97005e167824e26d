"""When and where a photo or clip was taken, carried over to its painting.

A painting written without its source's metadata lands in a photo library under the day it was painted, with no
place and no camera: a holiday's painted photos sort after everything else and vanish from its map. Photo editors
keep the metadata of what they export, and so does stylecast (``--no-metadata`` leaves it out, for sharing).

Pictures: the source's EXIF (date, place, camera, exposure) goes into a JPEG, PNG or WebP painting, with what no longer
holds taken out or corrected: the orientation (the painting is written upright), the embedded thumbnail (it would
show the unpainted photo) and the stored pixel size. OpenCV writes no EXIF, so the block is put into the encoded
file: an APP1 segment in a JPEG, an ``eXIf`` chunk in a PNG, an ``EXIF`` chunk in a WebP (whose simple form is
turned into the extended one that may carry it), tags of the image's own directory in a TIFF.

Videos: the container's descriptive tags (creation time, place, title, the phone's make and model) are copied;
technical ones (brands, the encoder) are the new file's own. An iPhone states its place only in an Apple key, which
an MP4 or MOV keeps only in QuickTime's ``mdta`` form; it is copied to the standard ``location`` tag too, which
every player and photo library reads.
"""

from __future__ import annotations

import io
import struct
import zlib
from itertools import accumulate

from PIL import Image, TiffImagePlugin, TiffTags

ORIENTATION, EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x0112, 0x8769, 0x8825, 0xA005
STRIP_OFFSETS, STRIP_BYTE_COUNTS = 273, 279  # OpenCV writes a TIFF's pixels in strips
PIXEL_X, PIXEL_Y = 0xA002, 0xA003  # the Exif IFD's stored image size
TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder"}
# How a TIFF stores its own pixels (size, layout, strips, tiles, its ICC profile): Pillow reads a TIFF's image
# directory as its EXIF, but none of this describes the painting, which is a different file.
TIFF_LAYOUT = {254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324, 325, 338, 339,
               513, 514, 34675}
APPLE_LOCATION = "com.apple.quicktime.location.ISO6709"
# What Pillow raises on an EXIF block it cannot write back (damaged or exotic): the painting goes without it.
UNWRITABLE_EXIF = (ValueError, TypeError, KeyError, OSError, struct.error)


def exif_of(source: Image.Image | bytes) -> Image.Exif | None:
    """The EXIF of an opened picture (Pillow has read only its header) or of a raw EXIF block (as pillow-heif hands
    a HEIC's over), without a TIFF's own layout tags; None when there is none or it cannot be read."""
    try:
        if isinstance(source, bytes):
            exif = Image.Exif()
            exif.load(source)
        else:
            exif = source.getexif()
    except (OSError, ValueError, SyntaxError, struct.error):
        return None
    for tag in TIFF_LAYOUT & set(exif):
        del exif[tag]
    return exif if len(exif) else None


def painted_exif(exif: Image.Exif, width: int, height: int) -> bytes | None:
    """The EXIF block (a TIFF structure, no ``Exif`` header) for a painting ``width`` x ``height``: upright, no
    thumbnail (Pillow writes no IFD1), its own size. None if the source's EXIF cannot be written back (a damaged
    or exotic block): the painting is then written without, rather than not at all."""
    try:
        exif[ORIENTATION] = 1
        inner = exif.get_ifd(EXIF_IFD)
        if PIXEL_X in inner or PIXEL_Y in inner:
            inner[PIXEL_X], inner[PIXEL_Y] = width, height
        return exif.tobytes()
    except UNWRITABLE_EXIF:
        return None


def with_exif(encoded: bytes, suffix: str, exif: bytes) -> bytes:
    """``encoded`` (a JPEG, PNG, WebP or TIFF file's bytes) with the EXIF block ``exif`` put in; other types
    unchanged."""
    if suffix in (".jpg", ".jpeg"):
        payload = b"Exif\x00\x00" + exif
        if len(payload) + 2 > 0xFFFF:  # an APP1 segment's limit; a block this big is mostly maker notes
            return encoded
        segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        at = 2  # after the start-of-image marker, and after a JFIF APP0 segment if there is one, as readers expect
        if encoded[2:4] == b"\xff\xe0":
            at += 2 + struct.unpack(">H", encoded[4:6])[0]
        return encoded[:at] + segment + encoded[at:]
    if suffix == ".png":
        at = 8  # after the signature, chunk by chunk to the first image data, which the chunk must come before
        while encoded[at + 4:at + 8] != b"IDAT":
            at += 12 + struct.unpack(">I", encoded[at:at + 4])[0]
        chunk = b"eXIf" + exif
        return encoded[:at] + struct.pack(">I", len(exif)) + chunk + struct.pack(">I", zlib.crc32(chunk)) + \
            encoded[at:]
    if suffix == ".webp":
        return _webp_with_exif(encoded, exif)
    if suffix in (".tif", ".tiff"):
        try:
            return _tiff_with_exif(encoded, exif)
        except UNWRITABLE_EXIF:  # written without, rather than not at all
            return encoded
    return encoded


def _riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)


def _webp_with_exif(encoded: bytes, exif: bytes) -> bytes:
    """A WebP holds EXIF only in its extended form: a ``VP8X`` chunk first (flags, canvas size), the image, then
    an ``EXIF`` chunk. OpenCV writes the simple form, one ``VP8L`` (lossless, its default) or ``VP8 `` chunk."""
    body = encoded[12:]
    fourcc = body[:4]
    if fourcc == b"VP8X":
        header = bytes([body[8] | 0x08]) + body[9:18]  # the EXIF flag
        body = body[18:]
    else:
        if fourcc == b"VP8L":  # signature byte, then width-1 and height-1 in 14 bits each, then the alpha bit
            bits = int.from_bytes(body[9:13], "little")
            width, height, alpha = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, (bits >> 28) & 1
        elif fourcc == b"VP8 ":  # a key frame: frame tag (3 bytes), start code (3), then 14-bit width and height
            width, height = (v & 0x3FFF for v in struct.unpack("<HH", body[14:18]))
            alpha = 0
        else:
            return encoded
        flags = 0x08 | (0x10 if alpha else 0)  # EXIF, and alpha where the image has it
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunks = _riff_chunk(b"VP8X", header) + body + _riff_chunk(b"EXIF", exif)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def video_tags(tags: dict[str, str], suffix: str) -> dict[str, str]:
    """The descriptive container tags of a source video, as an output of type ``suffix`` should carry them."""
    kept = {key: value for key, value in tags.items() if key.lower() not in TECHNICAL_TAGS}
    if suffix in (".mp4", ".mov") and "location" not in kept and APPLE_LOCATION in kept:
        kept["location"] = kept[APPLE_LOCATION]
    return kept


def _tiff_with_exif(encoded: bytes, exif: bytes) -> bytes:
    """A TIFF keeps EXIF in its image's own directory: the camera and the date as its tags, the exposure and the
    place in sub-directories that tags point to. OpenCV writes none of them, so the file is written again as Pillow
    writes one (header, directory with its values, then the image's strips, unchanged), the directory with the
    EXIF's tags added. Pillow's own TIFF writer cannot both compress and write sub-directories."""
    # A copy, tag by tag: Pillow writes only the tags whose values it has decoded, and decodes them as they are read.
    directory = TiffImagePlugin.ImageFileDirectory_v2(ifh=encoded[:8])
    with Image.open(io.BytesIO(encoded)) as tiff:
        for tag, value in tiff.tag_v2.items():
            directory.tagtype[tag] = tiff.tag_v2.tagtype[tag]
            directory[tag] = value
    # Pillow reads both as tuples, one strip or many (their tags' declared counts vary).
    strips = [encoded[at:at + n] for at, n in zip(directory[STRIP_OFFSETS], directory[STRIP_BYTE_COUNTS], strict=True)]
    tags = Image.Exif()
    tags.load(exif)
    for tag, value in tags.items():
        if tag in TIFF_LAYOUT:
            continue
        if tag in (EXIF_IFD, GPS_IFD):
            value = dict(tags.get_ifd(tag))
            if INTEROP_IFD in value:  # a pointer into the source's block: its directory instead
                value[INTEROP_IFD] = dict(tags.get_ifd(INTEROP_IFD))
        directory[tag] = value
    # Pillow writes strip offsets counted from the end of the directory's values, where the strips follow.
    directory.tagtype[STRIP_OFFSETS] = TiffTags.LONG
    directory[STRIP_OFFSETS] = tuple(accumulate(map(len, strips[:-1]), initial=0))
    header = encoded[:4] + struct.pack("<I" if encoded[:2] == b"II" else ">I", 8)  # the directory right after it
    return header + directory.tobytes(8) + b"".join(strips)
