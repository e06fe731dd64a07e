"""Datasets over the wire: the calls of API.md, their success shapes and every documented failure."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.secrets import SecretBox, SecretKeyError
from tailor.settings import Settings
from tests.coco.builders import classification, detection

from .conftest import Api, make_settings

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert response.headers["x-ms-error-code"] == body["error"]["code"]
    return body["error"]


def test_register_get_list_delete(api: Api) -> None:
    created = api.register("fruit", customProperties={"team": "vision"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "fruit" and body["annotationKind"] == "imageClassification"
    assert body["customProperties"] == {"team": "vision"}
    assert body["authentication"] == {"kind": "none"}
    assert TIMESTAMP.match(body["createdDateTime"]) and TIMESTAMP.match(body["updatedDateTime"])
    assert created.headers["ETag"] == body["eTag"]
    got = api.call("GET", "datasets/fruit")
    assert got.status_code == 200 and got.json() == body
    listed = api.call("GET", "datasets").json()
    assert [d["name"] for d in listed["value"]] == ["fruit"] and "nextLink" not in listed
    assert api.call("DELETE", "datasets/fruit").status_code == 204
    missing = api.call("GET", "datasets/fruit")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "DatasetNotFound"


def test_detection_dataset(api: Api) -> None:
    response = api.register("boxes", kind="imageObjectDetection")
    assert response.status_code == 201, response.text
    assert response.json()["annotationKind"] == "imageObjectDetection"


def test_existing_name_is_409_and_changes_nothing(api: Api) -> None:
    first = api.register("fruit").json()
    again = api.register("fruit", uris=[api.coco("other.json", detection())], kind="imageObjectDetection")
    assert again.status_code == 409 and error_of(again)["code"] == "DatasetAlreadyExists"
    assert api.call("GET", "datasets/fruit").json() == first


def test_invalid_coco_is_refused_with_every_problem_and_nothing_stored(api: Api) -> None:
    doc = classification()
    doc["images"][0]["width"] = "wide"
    doc["annotations"][1]["category_id"] = 99
    response = api.register("bad", uris=[api.coco("bad.json", doc)])
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "DatasetInvalidAnnotationUri"
    found = {(d["code"], d["target"].split("#")[1]) for d in error["details"]}
    assert found == {("wrongType", "images[0].width"), ("unknownCategory", "annotations[1].category_id")}
    assert api.call("GET", "datasets/bad").status_code == 404


def test_kind_mismatch_is_refused(api: Api) -> None:
    response = api.register("boxes", kind="imageObjectDetection", uris=[api.coco("c.json", classification())])
    assert response.status_code == 400
    assert {d["code"] for d in error_of(response)["details"]} == {"missingField"}  # no bbox


def test_unreadable_uri_is_refused(api: Api) -> None:
    response = api.register("gone", uris=[str(api.root / "missing.json")])
    assert response.status_code == 400
    (detail,) = error_of(response)["details"]
    assert detail["code"] == "fileUnreadable" and "no such file" in detail["message"]


def test_quotas_that_depend_on_the_purpose_wait_for_training(api: Api) -> None:
    one_image_per_class = classification(2, 1)
    assert api.register("small", uris=[api.coco("small.json", one_image_per_class)]).status_code == 201


def test_pascal_case_keys_and_json_patch_content_type(api: Api) -> None:
    uri = api.coco("a.json", classification())
    body = {"AnnotationKind": "imageClassification", "AnnotationFileUris": [uri],
            "Authentication": {"Kind": "managedIdentity"}, "CUSTOMPROPERTIES": {"k": "v"}}
    import json

    response = api.call(
        "PUT", "datasets/pascal", content=json.dumps(body), headers={"Content-Type": "application/json-patch+json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["customProperties"] == {"k": "v"}
    assert response.json()["authentication"] == {"kind": "managedIdentity"}


def test_sas_token_is_never_echoed(api: Api) -> None:
    response = api.register("secret", authentication={"kind": "sas", "sasToken": "sv=2024&sig=SECRET"})
    assert response.status_code == 201, response.text
    for text in (response.text, api.call("GET", "datasets/secret").text, api.call("GET", "datasets").text):
        assert "SECRET" not in text
    assert response.json()["authentication"] == {"kind": "sas"}


def test_sas_tokens_are_never_written_to_the_database_in_plain_text(api: Api, settings: Settings) -> None:
    api.register("secret", authentication={"kind": "sas", "sasToken": "sv=2024&sig=SECRET-ONE"})
    changed = {"authentication": {"kind": "sas", "sasToken": "sig=SECRET-TWO"}}
    patched = api.call("PATCH", "datasets/secret", json=changed)
    assert patched.status_code == 200, patched.text
    assert patched.json()["authentication"] == {"kind": "sas"} and "SECRET" not in patched.text
    api.client.close()  # the last connection closes: SQLite folds its write-ahead log into the file
    files = sorted(settings.data_dir.parent.glob("tailor.db*"))
    assert files and not any(b"SECRET" in path.read_bytes() for path in files)


def test_a_token_no_key_opens_answers_a_clear_error_and_a_wrong_key_does_not_start(tmp_path: Path) -> None:
    old, new = SecretBox.new_key(), SecretBox.new_key()
    database = f"sqlite:///{tmp_path / 'tailor.db'}"

    def serving(keys: str) -> TestClient:
        return TestClient(create_app(make_settings(tmp_path, database, secret_key=keys)), raise_server_exceptions=False)

    with serving(old) as client:
        api = Api(client, tmp_path / "datasets")
        assert api.register("old", authentication={"kind": "sas", "sasToken": "sig=1"}).status_code == 201
    with serving(f"{new},{old}") as client:
        api = Api(client, tmp_path / "datasets")
        assert api.register("new", authentication={"kind": "sas", "sasToken": "sig=2"}).status_code == 201
    with serving(new) as client:  # `old` removed before `tailor secrets rotate` moved its token
        api = Api(client, tmp_path / "datasets")
        assert api.call("GET", "datasets/new").status_code == 200
        response = api.call("GET", "datasets/old")
        assert response.status_code == 500
        error = error_of(response)
        assert error["code"] == "InternalServerError"
        assert "dataset 'old'" in error["message"] and "TAILOR_SECRET_KEY" in error["message"]
        assert "Traceback" not in response.text and "sig=1" not in response.text
    with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY does not open"):
        create_app(make_settings(tmp_path, database, secret_key=old))  # opens not even the newest: refused at start


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"annotationKind": "imageClassification", "annotationFileUris": []}, "annotationFileUris"),
        ({"annotationKind": "imageClassification", "annotationFileUris": [f"/x{k}" for k in range(11)]}, "annotationFileUris"),
        ({"annotationKind": "imageClassification", "annotationFileUris": ["/x"],
          "customProperties": {f"k{k}": "v" for k in range(11)}}, "customProperties"),
        ({"annotationKind": "imageSegmentation", "annotationFileUris": ["/x"]}, "annotationKind"),
        ({"annotationFileUris": ["/x"]}, "annotationKind"),
        ({"annotationKind": "imageClassification", "annotationFileUris": ["/x"],
          "authentication": {"kind": "sas"}}, "authentication.sasToken"),
        ({"annotationKind": "imageClassification", "annotationFileUris": ["/x"],
          "authentication": {"kind": "password"}}, "authentication.kind"),
    ],
)
def test_bad_bodies_are_400_invalid_request_naming_the_field(api: Api, body: dict, target: str) -> None:
    response = api.call("PUT", "datasets/x", json=body)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest" and error["target"] == target
    assert api.call("GET", "datasets/x").status_code == 404


@pytest.mark.parametrize("name", ["-dash", ".dot", "a b", "x" * 256, "a%20b", "caf\u00e9", "a*b"])
def test_names_that_break_the_pattern_are_refused(api: Api, name: str) -> None:
    response = api.register(name, uris=["/nowhere.json"])
    assert response.status_code == 400
    error = error_of(response)
    # The pattern is in the OpenAPI document, but the service, not FastAPI's validation, refuses: the same answer.
    assert error["code"] == "InvalidRequest" and error["innererror"]["code"] == "InvalidField"
    assert error["target"] == "name" and "invalid dataset name" in error["message"]
    for path in (f"datasets/{name}", f"models/{name}", f"models/{name}/evaluations/e", f"models/m/evaluations/{name}"):
        refused = api.call("GET", path)
        assert refused.status_code in (400, 404), path  # a '/' or '..' in the name can change the path itself
        if refused.status_code == 400:
            assert error_of(refused)["target"] == "name" and "name" in error_of(refused)["message"]


def test_a_file_with_more_categories_than_any_model_takes_is_refused_at_once(api: Api) -> None:
    doc = classification()
    doc["categories"] = [{"id": k, "name": f"c{k}"} for k in range(1, 1_000_001)]
    uri = api.coco("many.json", doc)
    started = time.perf_counter()
    response = api.register("many", uris=[uri])
    assert time.perf_counter() - started < 6  # checking and merging every category took 17 s
    assert response.status_code == 400 and error_of(response)["code"] == "DatasetInvalidAnnotationUri"
    (detail,) = error_of(response)["details"]
    assert detail["code"] == "tooManyCategories" and detail["message"].startswith("1,000,000 categories")
    assert api.call("GET", "datasets/many").status_code == 404


@pytest.mark.parametrize("path", ["datasets/..%2F..%2Fetc%2Fpasswd", "datasets/%2e%2e", "datasets/a/../../b"])
def test_path_traversal_finds_nothing(api: Api, path: str) -> None:
    response = api.call("GET", path)
    assert response.status_code in (400, 404)
    assert error_of(response)["code"] in ("InvalidRequest", "NotFound", "DatasetNotFound")


def test_patch_merges_properties_replaces_uris_and_changes_the_etag(api: Api) -> None:
    first = api.register("fruit", customProperties={"a": "1", "b": "2"}).json()
    second_file = api.coco("more.json", classification(2, 3))
    uris = first["annotationFileUris"] + [second_file]
    response = api.call(
        "PATCH", "datasets/fruit", json={"annotationFileUris": uris, "customProperties": {"b": None, "c": "3"}}
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["annotationFileUris"] == uris
    assert patched["customProperties"] == {"a": "1", "c": "3"}
    assert patched["eTag"] != first["eTag"] and patched["createdDateTime"] == first["createdDateTime"]


def test_patch_with_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    first = api.register("fruit").json()
    stale = api.call("PATCH", "datasets/fruit", json={"customProperties": {"x": "1"}}, headers={"If-Match": '"old"'})
    assert stale.status_code == 412 and error_of(stale)["code"] == "PreconditionFailed"
    assert api.call("GET", "datasets/fruit").json() == first
    fresh = api.call(
        "PATCH", "datasets/fruit", json={"customProperties": {"x": "1"}}, headers={"If-Match": f'"{first["eTag"]}"'}
    )
    assert fresh.status_code == 200


def test_patch_to_invalid_files_is_refused_and_keeps_the_dataset(api: Api) -> None:
    first = api.register("fruit").json()
    bad = api.coco("bad.json", "{broken")
    response = api.call("PATCH", "datasets/fruit", json={"annotationFileUris": [bad]})
    assert response.status_code == 400 and error_of(response)["code"] == "DatasetInvalidAnnotationUri"
    assert api.call("GET", "datasets/fruit").json() == first


def test_patch_cannot_change_the_kind(api: Api) -> None:
    api.register("fruit")
    response = api.call("PATCH", "datasets/fruit", json={"annotationKind": "imageObjectDetection"})
    assert response.status_code == 400 and error_of(response)["target"] == "annotationKind"


def test_patch_and_delete_of_missing_dataset_are_404(api: Api) -> None:
    assert api.call("PATCH", "datasets/none", json={"customProperties": {}}).status_code == 404
    assert error_of(api.call("DELETE", "datasets/none"))["code"] == "DatasetNotFound"


def test_delete_with_stale_if_match_is_412(api: Api) -> None:
    first = api.register("fruit").json()
    assert api.call("DELETE", "datasets/fruit", headers={"If-Match": "nope"}).status_code == 412
    assert api.call("DELETE", "datasets/fruit", headers={"If-Match": first["eTag"]}).status_code == 204


def test_paging_with_skip_top_and_next_link(api: Api) -> None:
    uri = api.coco("shared.json", classification())
    for k in range(12):
        assert api.register(f"d{k:02d}", uris=[uri]).status_code == 201
    names, url = [], None
    page = api.call("GET", "datasets", params={"top": 5}).json()
    while True:
        names += [d["name"] for d in page["value"]]
        url = page.get("nextLink")
        if not url:
            break
        assert url.startswith("http://testserver/computervision/datasets?") and "api-version=" in url
        page = api.client.get(url, headers={"Ocp-Apim-Subscription-Key": "training-key-1"}).json()
    assert names == [f"d{k:02d}" for k in range(12)]
    assert len(api.call("GET", "datasets").json()["value"]) == 10  # default top


@pytest.mark.parametrize("params", [{"top": 0}, {"top": 31}, {"skip": -1}, {"top": "many"}])
def test_paging_bounds(api: Api, params: dict) -> None:
    response = api.call("GET", "datasets", params=params)
    assert response.status_code == 400 and error_of(response)["code"] == "InvalidRequest"
