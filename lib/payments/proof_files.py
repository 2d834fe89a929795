"""What an uploaded payment proof really is, and a copy of it that is safe to keep.

`clean_proof` takes the bytes, the client's file name and the part's declared Content-Type (the
caller has already enforced the byte limit) and returns a `CleanProof` or raises `ProofRefused`
with a machine code that lib/http/messages.py words for the client:

    proof_type_refused     415  not JPEG, PNG, WebP or PDF, or a PDF that is also something else
    proof_type_mismatch    415  the name's extension or the declared type names another type
    proof_unreadable       422  damaged, truncated, encrypted, or too convoluted to inspect
    proof_too_large_image  422  more than MAX_PIXELS pixels (decompression bombs)

The exception's text is for the log: it never quotes the file, its name or its declared type.

Decisions:

- The type comes from the magic bytes at offset 0 only: JPEG `FF D8 FF`, PNG's 8-byte signature,
  WebP `RIFF....WEBP`, PDF `%PDF-`. Everything else (SVG, HTML, GIF, BMP, TIFF, HEIC, ZIP, text,
  an empty file) is refused, whatever its name says.
- A file name's extension is its last `.xxx` of 1-10 letters and digits with at least one letter
  (so `Captura 10.15.32` has none). With one, it must belong to the sniffed type: jpg, jpeg, jpe
  or jfif (what some Windows browsers name saved JPEGs); png; webp; pdf; in any case. A declared type
  other than `application/octet-stream` must name the sniffed type; image/jpg, image/pjpeg,
  image/x-png and application/x-pdf are accepted aliases.
- Images are decoded by Pillow, offered only the sniffed format, and re-encoded from their
  pixels: JPEG quality 85 in RGB, PNG in RGB or RGBA, lossy WebP quality 85 in RGB or RGBA.
  Nothing of the original file survives but the pixels: no EXIF (phone photos carry GPS), XMP,
  ICC profile, comment, text chunk, or data after the image, which is what defeats polyglots.
  EXIF orientation is applied first, so a rotated phone photo still reads upright (damaged EXIF
  is ignored, not fatal). 16-bit grayscale is scaled to 8 bits rather than clipped.
- Animated PNG and WebP keep their first frame only: a payment screenshot is a still image, and
  staff check the stored still, so nothing can hide in later frames.
- Pixel limit: MAX_PIXELS, 40 megapixels (a phone's 50 MP photo does not fit the 4 MB byte limit
  anyway), and no side longer than JPEG and WebP can encode, checked from the header before any
  pixel is decoded. Pillow's own bomb check stays, and its warning is an error here.
- The re-encoded bytes are searched for HTML markers too, in case pixels were crafted so that the
  compressed output spells `<script`: such an image is refused rather than stored.
- PDFs are kept as sent (we cannot re-render them on a serverless function), so they must prove
  to be plain documents; see `_check_pdf`. A PDF's own metadata (author, producer) is kept.

Pillow is imported on first use: the import alone costs more than a cold start should.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from PIL import Image as PILImage

Kind = Literal["jpeg", "png", "webp", "pdf"]

MAX_PIXELS = 40_000_000

REFUSED = "proof_type_refused"
MISMATCH = "proof_type_mismatch"
UNREADABLE = "proof_unreadable"
TOO_LARGE = "proof_too_large_image"
_STATUS = {REFUSED: 415, MISMATCH: 415, UNREADABLE: 422, TOO_LARGE: 422}

_CONTENT_TYPE: dict[Kind, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
_EXTENSION: dict[Kind, str] = {"jpeg": "jpg", "png": "png", "webp": "webp", "pdf": "pdf"}
_NAME_EXTENSIONS: dict[Kind, frozenset[str]] = {
    "jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "png": frozenset({"png"}),
    "webp": frozenset({"webp"}),
    "pdf": frozenset({"pdf"}),
}
_DECLARED: dict[str, Kind] = {
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/png": "png",
    "image/x-png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
}
_PILLOW_FORMAT: dict[Kind, str] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
# The longest side JPEG and WebP can encode; no screenshot is longer than this as a PNG either.
_MAX_SIDE: dict[Kind, int] = {"jpeg": 65_535, "png": 65_535, "webp": 16_383}

# What hostile input makes Pillow raise, besides its bomb checks: UnidentifiedImageError and
# "image file is truncated" are OSErrors; plugins raise SyntaxError, struct.error and the like.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, struct.error)

_MARKUP = re.compile(rb"<(?:html|script|svg|!doctype|iframe|body)", re.IGNORECASE)
_FILE_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,10})\Z")
_TRAILING_DOTS = re.compile(r"[\s.]+\Z")
_SAFE_EXTENSION = re.compile(r"[a-z0-9]{1,8}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_-]+")
_DOWNLOAD_NAME_MAX = 80
_FALLBACK_STEM = "comprobante"
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)


class ProofRefused(Exception):
    """A proof that will not be kept: `code` for the client, `status` for HTTP, str() for the log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = _STATUS[code]


@dataclass(frozen=True, slots=True)
class CleanProof:
    """What to store: `data` is the re-encoded image or the checked PDF, typed by its content.

    `original_sha256` is the digest of the upload as received, to spot the same receipt sent
    twice; `sha256` that of `data`. Width and height are the stored image's, None for a PDF.
    """

    data: bytes
    content_type: str
    extension: str
    sha256: str
    original_sha256: str
    width: int | None
    height: int | None


def sniff(data: bytes) -> str | None:
    """The content type that the magic bytes at offset 0 prove, or None."""
    kind = _sniff(data)
    return None if kind is None else _CONTENT_TYPE[kind]


def clean_proof(data: bytes, filename: str | None, declared_type: str | None) -> CleanProof:
    """The proof as it will be stored, or ProofRefused; see the module docstring for the rules."""
    kind = _sniff(data)
    if kind is None:
        raise ProofRefused(REFUSED, "the content is not JPEG, PNG, WebP or PDF")
    _check_name_and_declared_type(kind, filename, declared_type)
    width: int | None = None
    height: int | None = None
    if kind == "pdf":
        _check_pdf(data)
        stored = data
    else:
        stored, width, height = _reencode(data, kind)
        if _MARKUP.search(stored):
            raise ProofRefused(REFUSED, "the re-encoded image contains HTML markup")
    return CleanProof(
        data=stored,
        content_type=_CONTENT_TYPE[kind],
        extension=_EXTENSION[kind],
        sha256=hashlib.sha256(stored).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
    )


def safe_download_name(filename: str | None, extension: str) -> str:
    """A Content-Disposition file name: ASCII letters, digits, `-` and `_`, then `.extension`.

    Path parts and the client's own extension are dropped, accents are folded (`Señor` ->
    `Senor`), every other run of characters (dots included, so no `x.pdf.jpg`) becomes one `-`,
    and the result is at most 80 characters. An empty or Windows-reserved stem is `comprobante`.
    """
    if not _SAFE_EXTENSION.fullmatch(extension):
        raise ValueError("extension must be 1-8 lowercase ASCII letters or digits")
    stem, _ = _split_extension(_basename(filename))
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE_RUN.sub("-", folded).strip("-_")
    cleaned = cleaned[: _DOWNLOAD_NAME_MAX - len(extension) - 1].rstrip("-_")
    if not cleaned or cleaned.upper() in _WINDOWS_RESERVED:
        cleaned = _FALLBACK_STEM
    return f"{cleaned}.{extension}"


def _sniff(data: bytes) -> Kind | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    return None


def _basename(filename: str | None) -> str:
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1]


def _split_extension(name: str) -> tuple[str, str | None]:
    """(stem, lowercase extension or None); trailing dots and spaces are ignored, as Windows does."""
    name = _TRAILING_DOTS.sub("", name.strip())
    match = _FILE_EXTENSION.search(name)
    if match is None or not any(c.isalpha() for c in match.group(1)):
        return name, None
    return name[: match.start()], match.group(1).lower()


def _check_name_and_declared_type(kind: Kind, filename: str | None, declared_type: str | None) -> None:
    _, extension = _split_extension(_basename(filename))
    if extension is not None and extension not in _NAME_EXTENSIONS[kind]:
        raise ProofRefused(MISMATCH, f"the file name's extension does not belong to {_CONTENT_TYPE[kind]}")
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream" and _DECLARED.get(declared) != kind:
        raise ProofRefused(MISMATCH, f"the declared Content-Type does not match the content, {_CONTENT_TYPE[kind]}")


# ---------------------------------------------------------------------------------------------
# Images


def _reencode(data: bytes, kind: Kind) -> tuple[bytes, int, int]:
    from PIL import Image

    try:
        # catch_warnings changes the process's filters until it exits: another thread meanwhile
        # sees this filter too, which only makes its Pillow stricter.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[kind]]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS or max(width, height) > _MAX_SIDE[kind]:
                    raise ProofRefused(TOO_LARGE, f"the image is larger than {MAX_PIXELS} pixels or its format allows")
                image.load()  # the first frame only
                pixels = _pixels(_upright(image), kind)
                # A new image from the pixel buffer alone: none of `info` (ICC, comment, EXIF) follows.
                clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ProofRefused(TOO_LARGE, "Pillow refused the image as a decompression bomb") from None
    except _PILLOW_ERRORS:
        raise ProofRefused(UNREADABLE, f"Pillow could not decode the {kind} image") from None
    out = io.BytesIO()
    if kind == "jpeg":
        clean.save(out, "JPEG", quality=85, optimize=True)
    elif kind == "png":
        clean.save(out, "PNG")
    else:
        clean.save(out, "WEBP", quality=85, method=4)
    return out.getvalue(), clean.width, clean.height


def _upright(image: PILImage.Image) -> PILImage.Image:
    """The image turned as its EXIF Orientation says, as ImageOps.exif_transpose turns it.

    exif_transpose also rewrites the EXIF it leaves behind, which fails on some damaged EXIF;
    we drop the EXIF anyway, so only the turn is made, and EXIF that cannot be read is ignored.
    """
    from PIL import ExifTags, Image

    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
    except _PILLOW_ERRORS:
        return image  # unreadable EXIF: shown as stored, and dropped below like any other
    turn = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation if isinstance(orientation, int) else 1)
    return image if turn is None else image.transpose(turn)


def _pixels(image: PILImage.Image, kind: Kind) -> PILImage.Image:
    """8-bit RGB, or RGBA where the format keeps transparency and the image has some."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value / 257)  # 16-bit to 8-bit, scaled
    alpha = kind != "jpeg" and image.has_transparency_data
    return image.convert("RGBA" if alpha else "RGB")


# ---------------------------------------------------------------------------------------------
# PDFs

# Names that make a PDF act rather than show: scripts, launching programs, attached files, Flash,
# XFA forms, actions on page or field events, and encryption (staff could not check the content).
_ACTIVE_NAMES = frozenset({"JavaScript", "JS", "Launch", "EmbeddedFile", "RichMedia", "XFA", "AA", "Encrypt"})
# Names that make a stream an object stream: the tokenizer must see every one in the file.
_COUNTED_NAMES = frozenset({"ObjStm", "First"})
# Long enough not to turn up by chance in compressed data, so searched in every byte of the file.
_RAW_WATCHED = frozenset(name for name in _ACTIVE_NAMES if len(name) >= 6) | _COUNTED_NAMES

_PDF_HEADER = re.compile(rb"%PDF-[0-9]\.[0-9]")
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_EOF_WINDOW = 1024
_ZIP_END_WINDOW = 65_535 + 22  # a ZIP reader looks for its end record within this many final bytes
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"  # neither whitespace nor a delimiter
_NAME_TOKEN = re.compile(rb"/(" + _REGULAR + rb"*)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_TOKEN = re.compile(
    rb"(?:[\x00\t\n\x0c\r ]|%[^\r\n]*)*"  # whitespace and comments between tokens
    rb"(<<|>>|\[|\]|\(|/" + _REGULAR + rb"*|<[^<>]*>|" + _REGULAR + rb"+|.)?",
    re.DOTALL,
)
_STRING_STOP = re.compile(rb"[()\\]")
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_ENDSTREAM = re.compile(rb"[\x00\t\n\x0c\r ]*endstream")
_MAX_TOKENS = 500_000
_MAX_DEPTH = 32
_MAX_INFLATED = 16 * 1024 * 1024


def _check_pdf(data: bytes) -> None:
    """Refuse a PDF that is more than a document, or that cannot be inspected.

    - `%PDF-n.n` at offset 0, and `%%EOF` in the last 1 KB followed by whitespace only; any other
      byte after the last `%%EOF` is a file appended to the PDF (415), no `%%EOF` a truncated one.
    - No HTML anywhere in the bytes (`<html`, `<script`, `<svg`, `<!doctype`, `<iframe`, `<body`,
      any case), and no ZIP end-of-central-directory record where a ZIP reader looks for it.
    - No name token of _ACTIVE_NAMES, after `#xx` escapes are decoded (`/J#61vaScript`). Names are
      read by a small tokenizer that skips strings and stream data, so binary data cannot match
      `/JS` by chance; the long names are also searched in every byte.
    - /OpenAction only as "open at this page": a destination array, or a GoTo action without
      /Next, inline or by reference. LaTeX and LibreOffice write one in most files; any other
      action on opening (a URI that reports the opening, a remote file) is refused.
    - Object streams (PDF 1.5 compresses dictionaries into them: a stream with /Type /ObjStm or
      a /First key) are inflated and read the same way, and their objects are found by the
      offsets in their header, as a viewer finds them. One with another filter or a predictor
      is refused, and every `/ObjStm` and `/First` in the bytes must be one the tokenizer saw,
      so that a tokenizer that disagrees with a viewer about where strings and streams end
      cannot hide an object stream.
    - /Encrypt is refused as unreadable (422): staff could not check what it says.
    """
    if not _PDF_HEADER.match(data):
        raise ProofRefused(UNREADABLE, "the PDF header has no version")
    if _MARKUP.search(data):
        raise ProofRefused(REFUSED, "the PDF contains HTML markup")
    end = data.rfind(b"%%EOF")
    if end < 0 or len(data) - end > _EOF_WINDOW:
        raise ProofRefused(UNREADABLE, "the PDF has no %%EOF in its last 1 KB")
    if data[end + len(b"%%EOF") :].strip(_PDF_WHITESPACE):
        raise ProofRefused(REFUSED, "the PDF has data after its last %%EOF")
    if b"PK\x05\x06" in data[-_ZIP_END_WINDOW:]:
        raise ProofRefused(REFUSED, "the PDF is also a ZIP archive")

    raw = Counter(name for match in _NAME_TOKEN.finditer(data) if (name := _pdf_name(match.group(1))) in _RAW_WATCHED)
    _refuse_active_names(raw)
    scanner = _PdfScanner()
    in_raw_bytes = scanner.read(data, streams=True)
    names = in_raw_bytes.copy()
    for dictionary, stream in scanner.streams:
        if "First" in dictionary or dictionary.get("Type") == "ObjStm":
            content, inflated = _object_stream_content(dictionary, stream, scanner)
            inner = scanner.read_object_stream(content, dictionary)
            names.update(inner)
            if not inflated:  # then its bytes were searched for `raw` too
                in_raw_bytes.update(inner)
    _refuse_active_names(names)
    if names["OpenAction"] != len(scanner.open_actions) or not all(
        _opens_at_a_page(action, scanner.objects) for action in scanner.open_actions
    ):
        raise ProofRefused(REFUSED, "the PDF has an action on opening other than showing a page")
    for name in _COUNTED_NAMES:
        if raw[name] != in_raw_bytes[name]:
            raise ProofRefused(UNREADABLE, f"a /{name} in the PDF lies outside the syntax we read")


def _pdf_name(raw: bytes) -> str:
    return _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _refuse_active_names(names: Counter[str]) -> None:
    if names["Encrypt"]:
        raise ProofRefused(UNREADABLE, "the PDF is encrypted")
    found = sorted(name for name in _ACTIVE_NAMES if names[name])
    if found:
        raise ProofRefused(REFUSED, f"the PDF has active content: /{found[0]}")


def _opens_at_a_page(action: object, objects: dict[int, list[object]]) -> bool:
    if isinstance(action, _Reference):
        targets = objects.get(action.number, [])  # every definition: incremental updates add some
        return bool(targets) and all(_opens_at_a_page(target, {}) for target in targets)
    if isinstance(action, dict):
        return action.get("S") == "GoTo" and "Next" not in action
    return isinstance(action, list)


def _object_stream_content(dictionary: dict[str, object], stream: bytes, scanner: _PdfScanner) -> tuple[bytes, bool]:
    """(the decoded stream, whether it was inflated); refused unless unfiltered or plain Flate."""
    params = dictionary.get("DecodeParms")
    for entry in params if isinstance(params, list) else [params]:
        if entry is not None and not (isinstance(entry, dict) and entry.get("Predictor", 1) == 1):
            raise ProofRefused(UNREADABLE, "a PDF object stream uses a predictor")
    filters = dictionary.get("Filter")
    chain = filters if isinstance(filters, list) else [] if filters is None else [filters]
    if not chain:
        return stream, False
    if chain not in (["FlateDecode"], ["Fl"]):
        raise ProofRefused(UNREADABLE, "a PDF object stream uses a filter other than FlateDecode")
    budget = _MAX_INFLATED - scanner.inflated
    try:
        content = zlib.decompressobj().decompress(stream, budget + 1)
    except zlib.error:
        raise ProofRefused(UNREADABLE, "a PDF object stream does not inflate") from None
    if len(content) > budget:
        raise ProofRefused(UNREADABLE, f"the PDF's object streams inflate to more than {_MAX_INFLATED} bytes")
    scanner.inflated += len(content)
    return content, True


class _Reference(NamedTuple):
    number: int


class _PdfScanner:
    """Reads PDF syntax: the names in it, its streams, its numbered objects and its /OpenAction values.

    It knows tokens, dictionaries, arrays and `n g obj`, not the cross-reference table: every
    object in the file is read, whether a viewer would reach it or not. Strings count as nothing;
    stream data is skipped by its /Length when `endstream` follows it, else up to the next
    `endstream`. Limits on tokens, nesting and inflated bytes hold across everything one scanner
    reads.
    """

    def __init__(self) -> None:
        self.data = b""
        self.pos = 0
        self.names: Counter[str] = Counter()
        self.streams: list[tuple[dict[str, object], bytes]] = []
        self.objects: dict[int, list[object]] = {}
        self.open_actions: list[object] = []
        self.tokens = 0
        self.inflated = 0

    def read(self, data: bytes, *, streams: bool) -> Counter[str]:
        """The names in `data`; with `streams`, each stream's dictionary and data go to .streams."""
        self.data, self.pos, self.names = data, 0, Counter()
        recent: list[object] = []  # the last two values, for `n g obj`
        number: int | None = None
        while (token := self._token()) is not None:
            if token == b"stream" and streams:
                if not recent or not isinstance(recent[-1], dict):
                    raise ProofRefused(UNREADABLE, "a PDF stream has no dictionary")
                self._stream(recent[-1])
                recent = []
            elif token == b"obj" and len(recent) == 2 and isinstance(recent[0], int) and isinstance(recent[1], int):
                number, recent = recent[0], []
            else:
                value = self._value(token, 0)
                if number is not None:
                    self.objects.setdefault(number, []).append(value)
                    number = None
                recent = [*recent[-1:], value]
        return self.names

    def read_object_stream(self, content: bytes, dictionary: dict[str, object]) -> Counter[str]:
        """The names in an object stream's content, whose objects go to .objects by their offsets."""
        names = self.read(content, streams=False)
        count, first = dictionary.get("N"), dictionary.get("First")
        if not isinstance(count, int) or not isinstance(first, int) or count < 0 or not 0 <= first <= len(content):
            raise ProofRefused(UNREADABLE, "a PDF object stream has no valid /N and /First")
        # Read again by offsets, as a viewer does; the names and actions met were counted above.
        self.pos, self.names, actions = 0, Counter(), len(self.open_actions)
        header = [self._value(self._token() or b"", 0) for _ in range(2 * count)]
        numbers = [value for value in header if isinstance(value, int)]
        if len(numbers) != len(header) or self.pos > first:
            raise ProofRefused(UNREADABLE, "a PDF object stream's header is not number pairs")
        for number, offset in zip(numbers[::2], numbers[1::2], strict=True):
            self.pos = first + offset
            token = self._token() if 0 <= self.pos <= len(content) else None
            if token is None:
                raise ProofRefused(UNREADABLE, "a PDF object stream's offset points nowhere")
            self.objects.setdefault(number, []).append(self._value(token, 0))
        self.names = names
        del self.open_actions[actions:]
        return names

    def _token(self) -> bytes | None:
        self.tokens += 1
        if self.tokens > _MAX_TOKENS:
            raise ProofRefused(UNREADABLE, f"the PDF has more than {_MAX_TOKENS} tokens")
        match = _TOKEN.match(self.data, self.pos)
        if match is None or match.group(1) is None:  # only whitespace and comments were left
            self.pos = len(self.data)
            return None
        self.pos = match.end()
        return match.group(1)

    def _value(self, token: bytes, depth: int) -> object:
        """The object that starts with `token`: a dict, list, str (a name), int, bytes or None."""
        if depth > _MAX_DEPTH:
            raise ProofRefused(UNREADABLE, "the PDF nests deeper than we read")
        if token == b"(":
            self._skip_string()
            return None
        if token.startswith(b"/"):
            name = _pdf_name(token[1:])
            self.names[name] += 1
            return name
        if token in (b"<<", b"["):
            close = b">>" if token == b"<<" else b"]"
            items = []
            while (item := self._token()) != close:
                if item is None:
                    raise ProofRefused(UNREADABLE, "a PDF dictionary or array is not closed")
                items.append(self._value(item, depth + 1))
            if token == b"[":
                return items
            dictionary = _dictionary(items)
            if "OpenAction" in dictionary:
                self.open_actions.append(dictionary["OpenAction"])
            return dictionary
        if _INTEGER.fullmatch(token):
            return int(token)
        return token

    def _skip_string(self) -> None:
        depth = 1
        while depth:
            stop = _STRING_STOP.search(self.data, self.pos)
            if stop is None:
                raise ProofRefused(UNREADABLE, "a PDF string is not closed")
            char = self.data[stop.start()]
            self.pos = stop.start() + (2 if char == ord("\\") else 1)
            depth += 1 if char == ord("(") else -1 if char == ord(")") else 0

    def _stream(self, dictionary: dict[str, object]) -> None:
        start = self.pos
        if self.data.startswith(b"\r\n", start):
            start += 2
        elif self.data[start : start + 1] in (b"\n", b"\r"):
            start += 1
        length = dictionary.get("Length")
        if isinstance(length, int) and length >= 0 and (after := _ENDSTREAM.match(self.data, start + length)):
            end, self.pos = start + length, after.end()
        else:
            end = self.data.find(b"endstream", start)
            if end < 0:
                raise ProofRefused(UNREADABLE, "a PDF stream has no endstream")
            self.pos = end + len(b"endstream")
        self.streams.append((dictionary, self.data[start:end]))


def _dictionary(items: list[object]) -> dict[str, object]:
    """Pairs keys with values; an `n g R` value becomes a _Reference."""
    result: dict[str, object] = {}
    index = 0
    while index < len(items):
        key = items[index]
        if not isinstance(key, str) or index + 1 == len(items):
            raise ProofRefused(UNREADABLE, "a PDF dictionary key is not a name")
        value = items[index + 1]
        index += 2
        if isinstance(value, int) and items[index + 1 : index + 2] == [b"R"] and isinstance(items[index], int):
            value, index = _Reference(value), index + 2
        result[key] = value
    return result
