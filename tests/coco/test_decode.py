"""Whole-file problems: whatever the bytes, one report, never an exception."""

from __future__ import annotations

import json

import pytest

from tailor.coco import AnnotationKind, ProblemCode
from tailor.coco._decode import CHUNK

from .builders import check, classification, encode, errors


def only(report) -> tuple[str, str, str]:
    (problem,) = report.errors
    return problem.code.value, problem.path, problem.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "the file is empty"),
        (b"   \n ", "the file is empty"),
        (b"hello, world", "line 1, column 1"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "this is a PNG image, not a COCO annotation file"),
        (b"PK\x03\x04rest", "a ZIP archive (unzip it first)"),
        (b'{"images": [],\n "annotations": [}', "line 2, column 18"),
        (b'{"images": []', "truncated"),
        (b'{"images": NaN}', "line 1, column 12"),
        (b'{"images": []} trailing', "trailing characters at line 1"),
    ],
)
def test_not_json_is_one_problem_with_line_and_column(data: bytes, fragment: str) -> None:
    code, path, message = only(check(data))
    assert (code, path) == ("invalidJson", "$")
    assert fragment in message


def test_utf8_bom_is_accepted() -> None:
    assert check(b"\xef\xbb\xbf" + encode(classification())).valid


def test_utf16_is_refused_with_what_to_do() -> None:
    code, _, message = only(check(json.dumps(classification()).encode("utf-16")))
    assert code == "invalidEncoding" and "UTF-8" in message


def test_invalid_utf8_inside_a_string_is_reported() -> None:
    data = encode(classification()).replace(b"class_1", b"class_\xff")
    assert errors(check(data)) == {("invalidEncoding", "categories[0]")}


@pytest.mark.parametrize("data", [b"[]", b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_top_level_must_be_an_object(data: bytes) -> None:
    code, path, _ = only(check(data))
    assert (code, path) == ("notAnObject", "$")


def test_missing_lists_are_each_reported() -> None:
    report = check({"info": {}})
    assert {("missingField", "images"), ("missingField", "annotations"), ("missingField", "categories")} <= errors(
        report
    )


@pytest.mark.parametrize("value", [{}, "x", 3, None])
def test_a_list_of_the_wrong_type_is_reported(value: object) -> None:
    doc = classification()
    doc["images"] = value
    assert ("wrongType", "images") in errors(check(doc))


def test_entries_that_are_not_objects_are_each_reported_and_the_rest_still_checked() -> None:
    doc = classification()
    doc["images"][1] = "img_2.jpg"
    doc["images"][3] = [1, 2]
    doc["images"][2]["width"] = "wide"
    found = errors(check(doc))
    assert {("wrongType", "images[1]"), ("wrongType", "images[3]"), ("wrongType", "images[2].width")} <= found


def test_number_beyond_any_float_is_reported_at_its_path() -> None:
    data = encode(classification()).replace(b'"width": 64', b'"width": 1e999', 1)
    assert ("invalidJson", "images[0].width") in errors(check(data))


def test_deep_nesting_is_refused_not_a_crash() -> None:
    doc = encode(classification())[:-1] + b', "info": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    code, _, _message = only(check(doc))
    assert code == "nestingTooDeep"


def test_paths_stay_right_beyond_the_first_chunk() -> None:
    n = CHUNK + 10
    doc = classification(2, n // 2 + 1)
    doc["images"][CHUNK + 3]["width"] = "bad"
    doc["annotations"][CHUNK + 5]["category_id"] = 404
    doc["images"][CHUNK + 7] = 17  # a non-object entry in a later chunk
    report = check(doc)
    found = errors(report)
    assert ("wrongType", f"images[{CHUNK + 3}].width") in found
    assert ("unknownCategory", f"annotations[{CHUNK + 5}].category_id") in found
    assert ("wrongType", f"images[{CHUNK + 7}]") in found


def test_duplicate_id_across_chunks_is_found() -> None:
    doc = classification(2, CHUNK // 2 + 5)
    doc["images"][CHUNK + 2]["id"] = 1
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] != CHUNK + 3]
    report = check(doc)
    problems = [p for p in report.errors if p.code is ProblemCode.DUPLICATE_ID]
    assert [(p.path, "images[0]" in p.message) for p in problems] == [(f"images[{CHUNK + 2}].id", True)]


def test_kind_is_reported_in_the_short_form() -> None:
    assert check(classification()).to_dict()["kind"] == "classification"
    assert check(classification(), AnnotationKind.DETECTION).to_dict()["kind"] == "detection"
