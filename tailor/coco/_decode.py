"""Bytes to records, never raising: every way a file can fail to be COCO becomes a Problem.

One pass over the file finds the three top-level lists as raw JSON (views into the file, no copies); each list is
then split into raw entries, and its records are decoded CHUNK at a time into the lenient record types of
`_reference`: a file of a million records never holds more than one chunk of record objects beside its bytes.
Only a chunk with an entry that is not an object is decoded again entry by entry, to name each such entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET

from ..errors import TailorError
from ._problems import Problem, ProblemCode
from ._reference import RAW_SECTIONS

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)")
_NOT_JSON = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (unzip it first)"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"%PDF", "a PDF document"),
)
_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")


CHUNK = 65536
_TOP = msgspec.defstruct("_Top", [(n, msgspec.Raw, UNSET) for n in RAW_SECTIONS])
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_CHUNK_DECODERS = {n: msgspec.json.Decoder(list[t]) for n, t in RAW_SECTIONS.items()}  # type: ignore[valid-type]
_RECORD_DECODERS = {n: msgspec.json.Decoder(t) for n, t in RAW_SECTIONS.items()}
_ANY_DECODER = msgspec.json.Decoder()


class DocumentError(TailorError):
    """The file cannot be read as a COCO document at all; `problem` says why."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass(slots=True)
class Section:
    """One top-level list of a file. `chunks()` yields (offset, records); a record is None where the entry is
    not an object, which is reported in `problems` as it is met."""

    name: str
    file: str | None
    raws: list[msgspec.Raw] | None  # None: the list is missing or not a list
    problems: list[Problem]

    def __len__(self) -> int:
        return len(self.raws or ())

    def chunks(self) -> Iterator[tuple[int, list[Any]]]:
        raws = self.raws or []
        decoder = _CHUNK_DECODERS[self.name]
        for start in range(0, len(raws), CHUNK):
            part = raws[start : start + CHUNK]
            payload = bytearray(b"[")  # one copy of the chunk's bytes, not three
            payload += b",".join(part)
            payload += b"]"
            try:
                records = decoder.decode(payload)
            except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError, or invalid UTF-8 (see _invalid_utf8)
                records = [self._one(start + k, raw) for k, raw in enumerate(part)]
            yield start, records

    def record(self, index: int) -> Any:
        """Entry `index` decoded again, quietly (its problems were reported when it was first met)."""
        try:
            return _RECORD_DECODERS[self.name].decode((self.raws or [])[index])
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None

    def _one(self, index: int, raw: msgspec.Raw) -> Any:
        """Decode one entry on its own, to say exactly what is wrong with it (None if it cannot be used)."""
        path = f"{self.name}[{index}]"
        decoder = _RECORD_DECODERS[self.name]
        try:
            try:
                return decoder.decode(raw)
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                if not _invalid_utf8(exc):
                    raise
                self.problems.append(
                    Problem(
                        ProblemCode.INVALID_ENCODING, path,
                        "a string in this entry is not valid UTF-8: save the file as UTF-8", self.file,
                    )
                )
                # Check the rest of the entry all the same (U+FFFD for the bad bytes): nothing else stays hidden.
                raw = msgspec.Raw(bytes(raw).decode("utf-8", "replace").encode())
                return decoder.decode(raw)
        except msgspec.ValidationError as exc:
            if str(exc).startswith("Expected `object`"):
                problem = Problem(
                    ProblemCode.WRONG_TYPE, path,
                    f"each entry of `{self.name}` must be an object, got {_describe_raw(raw)}", self.file,
                )
            else:  # e.g. a number too large for any float
                problem = _validation_problem(exc, self.file, prefix=path)
        self.problems.append(problem)
        return None


def _invalid_utf8(exc: Exception) -> bool:
    """msgspec up to 0.22 raises UnicodeDecodeError for a string that is not UTF-8; 0.23 a DecodeError that says so."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError) and "UTF-8" in str(exc)


def strip_bom(data: bytes, file: str | None) -> bytes:
    """Drop a UTF-8 byte order mark (Windows tools write one); refuse UTF-16 with a message that says what to do."""
    if data.startswith(_UTF8_BOM):
        return data[len(_UTF8_BOM) :]
    if data.startswith(_UTF16_BOMS):
        raise DocumentError(
            Problem(
                ProblemCode.INVALID_ENCODING, "$",
                "the file is UTF-16 encoded; COCO files must be UTF-8: save it again as UTF-8", file,
            )
        )
    return data


def decode_document(data: bytes, file: str | None) -> Any:
    """The three top-level lists as raw views (UNSET where missing), in one pass over the file; raise DocumentError
    when the file is not a JSON object at all."""
    return _decode(data, _TOP, file)


def decode_section(document: Any, name: str, file: str | None) -> Section:
    """Split the top-level list `name` into its entries (still raw views into the file)."""
    raw = getattr(document, name)
    if raw is UNSET:
        return Section(
            name, file, None, [Problem(ProblemCode.MISSING_FIELD, name, f"the required list `{name}` is missing", file)]
        )
    try:
        return Section(name, file, _RAW_LIST.decode(raw), [])
    except msgspec.ValidationError:
        return Section(
            name, file, None,
            [Problem(ProblemCode.WRONG_TYPE, name, f"`{name}` must be a list, got {_describe_raw(raw)}", file)],
        )


def _decode(data: bytes, type_: type, file: str | None) -> Any:
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        if str(exc).startswith("Expected `object`"):
            raise DocumentError(
                Problem(
                    ProblemCode.NOT_AN_OBJECT,
                    "$",
                    f"a COCO file is one JSON object with `images`, `annotations` and `categories`; {str(exc).split(',')[-1].strip()}",
                    file,
                )
            ) from None
        raise
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        if not _invalid_utf8(exc):
            raise DocumentError(_syntax_problem(data, str(exc), file)) from None
        raise DocumentError(
            Problem(ProblemCode.INVALID_ENCODING, "$", "the file is not valid UTF-8: save it again as UTF-8", file)
        ) from None
    except RecursionError:
        raise DocumentError(
            Problem(
                ProblemCode.NESTING_TOO_DEEP,
                "$",
                "the JSON is nested too deeply to be a COCO file (arrays or objects more than ~1000 levels deep)",
                file,
            )
        ) from None


def _syntax_problem(data: bytes, message: str, file: str | None) -> Problem:
    match = _BYTE_OFFSET.search(message)
    offset = int(match.group(1)) if match else len(data)
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    if not data.strip():
        return Problem(ProblemCode.INVALID_JSON, "$", "not valid JSON: the file is empty", file)
    for magic, kind in _NOT_JSON:
        if data.startswith(magic):
            return Problem(ProblemCode.INVALID_JSON, "$", f"not JSON: this is {kind}, not a COCO annotation file", file)
    if match:
        what = message.removeprefix("JSON is malformed: ").split(" (byte")[0]
    else:
        what = "the JSON ends too early (truncated file?)"
    return Problem(
        ProblemCode.INVALID_JSON,
        "$",
        f"not valid JSON: {what} at line {line}, column {column}",
        file,
    )


def _validation_problem(exc: msgspec.ValidationError, file: str | None, prefix: str = "") -> Problem:
    message = str(exc)
    match = _MSGSPEC_PATH.search(message)
    path = prefix + (match.group(1) if match else "")
    return Problem(ProblemCode.INVALID_JSON, path.lstrip(".") or "$", f"not usable JSON: {message.split(' - at')[0]}", file)


def _describe_raw(raw: msgspec.Raw) -> str:
    try:
        return describe(_ANY_DECODER.decode(raw))
    except (msgspec.DecodeError, UnicodeDecodeError):
        return "a value that is not an object"


def describe(value: Any) -> str:
    """A short, safe rendering of a JSON value for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
