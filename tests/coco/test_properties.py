"""Property-based: the validator never raises, whatever it is fed, and every rule a mutation breaks is reported."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from tailor.coco import AnnotationKind, CocoSource, Purpose, validate_coco

from .builders import classification, detection, encode

KINDS = st.sampled_from(list(AnnotationKind))
PURPOSES = st.sampled_from([*Purpose, None])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
coco_keys = st.sampled_from(
    ["images", "annotations", "categories", "id", "width", "height", "file_name", "absolute_url", "coco_url",
     "image_id", "category_id", "bbox", "name", "area"]
)
coco_like = st.recursive(
    json_values,
    lambda children: st.dictionaries(coco_keys, children, max_size=6) | st.lists(children, max_size=4),
    max_leaves=40,
)


def run(data: bytes, kind: AnnotationKind, purpose: Purpose | None):
    report = validate_coco([CocoSource("x.json", data)], kind, purpose)
    as_dict = report.to_dict()
    json.dumps(as_dict)  # the report itself always serialises
    assert as_dict["valid"] == (not as_dict["errors"])
    return report


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(coco_like, KINDS, PURPOSES)
def test_any_json_gets_a_report(value, kind, purpose) -> None:
    report = run(json.dumps(value).encode(), kind, purpose)
    if not isinstance(value, dict):
        assert [p.code.value for p in report.errors] == ["notAnObject"]


@settings(max_examples=300)
@given(st.binary(max_size=300), KINDS)
def test_any_bytes_get_a_report(data, kind) -> None:
    run(data, kind, Purpose.TRAINING)


@settings(max_examples=200)
@given(st.data(), KINDS)
def test_truncations_of_a_valid_file_are_reported_never_raised(data, kind) -> None:
    doc = encode(classification() if kind is AnnotationKind.CLASSIFICATION else detection())
    cut = data.draw(st.integers(0, len(doc) - 1))
    report = run(doc[:cut], kind, Purpose.TRAINING)
    assert not report.valid


@settings(max_examples=300)
@given(st.data(), KINDS, json_values)
def test_any_value_in_any_field_is_checked_never_raised(data, kind, value) -> None:
    doc = classification() if kind is AnnotationKind.CLASSIFICATION else detection()
    section = data.draw(st.sampled_from(["images", "annotations", "categories"]))
    index = data.draw(st.integers(0, len(doc[section]) - 1))
    field = data.draw(st.sampled_from(sorted(doc[section][index]) + ["bbox", "area", "coco_url"]))
    doc[section][index][field] = value
    run(encode(doc), kind, Purpose.TRAINING)


# Mutations that break one rule: each takes (records, index) and says what must be reported, as
# (code, index of the record it is reported on, path suffix).
def drop(field):
    def mutate(records, i):
        records[i].pop(field)
        return "missingField", i, f".{field}"
    return mutate


def set_to(field, value, code):
    def mutate(records, i):
        records[i][field] = value
        return code, i, f".{field}"
    return mutate


def copy_id(records, i):
    """The later of two records that share an id is the one reported."""
    j = i - 1 if i > 0 else 1
    records[i]["id"] = records[j]["id"]
    return "duplicateId", max(i, j), ".id"


MUTATIONS = {
    "images": [
        drop("id"), drop("width"), drop("height"), drop("file_name"),
        set_to("id", "7", "wrongType"), set_to("id", 0, "invalidId"), set_to("width", -3, "invalidDimension"),
        set_to("height", 1.5, "wrongType"), set_to("file_name", ["a"], "wrongType"),
        set_to("absolute_url", "gopher://x/y.jpg", "invalidUrl"), copy_id,
    ],
    "annotations": [
        drop("id"), drop("image_id"), drop("category_id"),
        set_to("category_id", 10_000, "unknownCategory"), set_to("image_id", 10_000, "unknownImage"),
        set_to("id", None, "missingField"), set_to("area", -2.0, "invalidArea"), copy_id,
    ],
    "categories": [drop("id"), drop("name"), set_to("name", "", "emptyName"), set_to("id", "a", "wrongType"), copy_id],
}
DETECTION_MUTATIONS = [
    drop("bbox"),
    set_to("bbox", [0.5, 0.5, 0.6, 0.1], "bboxOutOfRange"),
    set_to("bbox", [0.1, 0.1], "invalidBbox"),
    set_to("bbox", [0.1, 0.1, 0.2, "0.2"], "invalidBbox"),
]


@settings(max_examples=300)
@given(st.data(), KINDS)
def test_each_mutation_that_breaks_a_rule_is_reported_at_its_path(data, kind) -> None:
    detecting = kind is AnnotationKind.DETECTION
    doc = detection(4) if detecting else classification(3, 3)
    section = data.draw(st.sampled_from(["images", "annotations", "categories"]))
    choices = MUTATIONS[section] + (DETECTION_MUTATIONS if detecting and section == "annotations" else [])
    mutate = data.draw(st.sampled_from(choices))
    index = data.draw(st.integers(0, len(doc[section]) - 1))
    broken = copy.deepcopy(doc)
    code, reported, suffix = mutate(broken[section], index)
    report = run(encode(broken), kind, None)
    assert (code, f"{section}[{reported}]{suffix}") in {(p.code.value, p.path) for p in report.errors}
