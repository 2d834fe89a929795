"""Payment proof files for tests, ordinary and hostile, built in memory (no binary fixtures).

Images come from Pillow; PNG chunks, PDFs and the files we refuse are put together byte by byte,
so each test shows exactly what the file holds. The `*_chunks`/`*_segments` readers list what a
file carries, to assert that metadata and payloads are gone after cleaning.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

from PIL import ExifTags, Image, ImageCms

RED = (255, 0, 0)
BLUE = (0, 0, 255)
# Plaza de Armas, Lima: 12°2'45" S, 77°1'42" W.
LIMA_LATITUDE = (12.0, 2.0, 45.0)
LIMA_LONGITUDE = (77.0, 1.0, 42.0)
PAYLOAD = b"<script>alert(document.cookie)</script>"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Lima"/>'
    "</rdf:RDF></x:xmpmeta>"
)


# --- images -----------------------------------------------------------------------------------


def image(fmt: str, size: tuple[int, int] = (64, 32), mode: str = "RGB", color: Any = RED, **options: Any) -> bytes:
    """A plain image in `fmt` (a Pillow format name); `options` go to Image.save."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **options)
    return buffer.getvalue()


def two_tone(fmt: str, size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    """Left half red, right half blue: shows which way an image was turned."""
    picture = Image.new("RGB", size, BLUE)
    picture.paste(RED, (0, 0, size[0] // 2, size[1]))
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF as a phone writes it: the camera, where the photo was taken, and how it was held."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Samsung"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = LIMA_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = LIMA_LONGITUDE
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def animated(fmt: str, colors: tuple[Any, ...] = (RED, BLUE)) -> bytes:
    """An animated PNG (APNG) or WebP whose frames are the given colours."""
    frames = [Image.new("RGBA", (16, 16), color) for color in colors]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def zip_archive(members: dict[str, bytes] | None = None) -> bytes:
    """A ZIP (or, with a manifest and a class, a JAR): what a GIFAR-like polyglot appends."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in (members or {"evil.html": b"<html><script>alert(1)</script></html>"}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def jar() -> bytes:
    return zip_archive({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n", "Evil.class": b"\xca\xfe\xba\xbe"})


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_raw(width: int, height: int, *, complete: bool = True) -> bytes:
    """An 8-bit greyscale PNG; not `complete`, only the header is honest: a decompression bomb's shape."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height)) if complete else b"\x00" * 64
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b"")


def with_png_chunk(png: bytes, chunk: bytes) -> bytes:
    """`png` with `chunk` inserted right after IHDR (8 signature bytes, 25 IHDR bytes)."""
    return png[:33] + chunk + png[33:]


def png_chunks(png: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kinds.append(png[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def riff_chunks(webp: bytes) -> list[bytes]:
    kinds, pos = [], 12
    while pos + 8 <= len(webp):
        (length,) = struct.unpack("<I", webp[pos + 4 : pos + 8])
        kinds.append(webp[pos : pos + 4])
        pos += 8 + length + (length & 1)
    return kinds


def jpeg_segments(jpeg: bytes) -> list[int]:
    """The markers before the image data (0xE1 APP1 holds EXIF and XMP, 0xE2 ICC, 0xFE comments)."""
    markers, pos = [], 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        pos += 2 + length
    return markers


# --- PDFs -------------------------------------------------------------------------------------

PAGE_TEXT = b"BT /F1 18 Tf 72 720 Td (Yape: S/ 49.90 a Maria H.) Tj ET"


def pdf(
    *extra: bytes, catalog: bytes = b"", trailer: bytes = b"", tail: bytes = b"\n", version: bytes = b"1.7"
) -> bytes:
    """A one-page PDF with a correct cross-reference table.

    Objects 1-5 are the catalog (plus `catalog` entries), pages, page, content and font; `extra`
    bodies become objects 6, 7, ...; `trailer` adds trailer entries; `tail` follows `%%EOF`.
    """
    content = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(PAGE_TEXT) + 1, PAGE_TEXT)
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        content,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *extra,
    ]
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF" % (len(bodies) + 1, trailer, xref)
    return bytes(out) + tail


def object_stream(
    *objects: bytes, first_number: int = 20, dictionary: bytes = b"/Type /ObjStm", flate: bool = True
) -> bytes:
    """An object stream holding `objects` as numbers first_number, first_number + 1, ...

    The body of a PDF object to pass to `pdf(...)`; `dictionary` replaces `/Type /ObjStm`
    (to drop it, or to add filters and parameters), and `flate` compresses the content.
    """
    header, body = [], b""
    for number, obj in enumerate(objects, start=first_number):
        header.append(b"%d %d" % (number, len(body)))
        body += obj + b"\n"
    head = b" ".join(header) + b"\n"
    content = head + body
    data = zlib.compress(content) if flate else content
    filters = b" /Filter /FlateDecode" if flate else b""
    return b"<< %s /N %d /First %d /Length %d%s >>\nstream\n%s\nendstream" % (
        dictionary,
        len(objects),
        len(head),
        len(data),
        filters,
        data,
    )


def pdf_image_stream(data: bytes) -> bytes:
    """An image XObject whose pixel bytes are `data`, uncompressed: binary that is never parsed."""
    return b"<< /Type /XObject /Subtype /Image /Width %d /Height 1 /ColorSpace /DeviceGray" % len(data) + (
        b" /BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream" % (len(data), data)
    )


# --- what is refused --------------------------------------------------------------------------

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9"/></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script>Yape S/ 49.90</body></html>"
HEIC = struct.pack(">I", 24) + b"ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def refused_types() -> dict[str, bytes]:
    """Files whose content is none of JPEG, PNG, WebP or PDF, by what they are."""
    return {
        "svg": SVG,
        "html": HTML,
        "gif": image("GIF"),
        "bmp": image("BMP"),
        "tiff": image("TIFF"),
        "heic": HEIC,
        "zip": zip_archive(),
        "text": b"Yape: S/ 49.90 pagado a Maria H. el 24/11/2026\n",
        "empty": b"",
        "exe": EXE,
        "utf8-bom-html": b"\xef\xbb\xbf" + HTML,
        "pdf-late-header": b"\n" + pdf(),
    }


# --- ready-made proofs for the API tests ----------------------------------------------------------


def jpeg_bytes() -> bytes:
    """A plain JPEG screenshot (the same bytes on every call: a re-sent file hashes alike)."""
    return two_tone("JPEG", quality=90)


def png_bytes() -> bytes:
    return two_tone("PNG")


def gps_jpeg_bytes() -> bytes:
    """A phone photo carrying GPS EXIF tags (Lima)."""
    return two_tone("JPEG", exif=gps_exif())
