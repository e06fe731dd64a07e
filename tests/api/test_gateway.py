"""What the gateway refuses before any route runs: keys, api-version, bodies."""

from __future__ import annotations

import json

import pytest

from .conftest import OTHER_TRAINING_KEY, PREDICTION_KEY, TRAINING_KEY, VERSION, Api
from .test_datasets import error_of

ACCESS_DENIED = "Access denied due to invalid subscription key or wrong API endpoint."


@pytest.mark.parametrize("headers", [{}, {"Ocp-Apim-Subscription-Key": "wrong"}, {"Ocp-Apim-Subscription-Key": ""},
                                     {"Ocp-Apim-Subscription-Key": PREDICTION_KEY}])
def test_missing_wrong_or_prediction_key_is_401(api: Api, headers: dict) -> None:
    response = api.client.get("/computervision/datasets", params={"api-version": VERSION}, headers=headers)
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "401" and error["message"].startswith(ACCESS_DENIED)


def test_every_rotated_training_key_works(api: Api) -> None:
    response = api.call("GET", "datasets", headers={"Ocp-Apim-Subscription-Key": OTHER_TRAINING_KEY})
    assert response.status_code == 200


def test_key_is_checked_before_the_body(api: Api) -> None:
    response = api.client.put(
        "/computervision/datasets/x", params={"api-version": VERSION}, content=b"{not json", headers={}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("version", [None, "2022-10-12-preview", "latest", ""])
def test_unsupported_api_version_names_the_supported_ones(api: Api, version: str | None) -> None:
    params = {} if version is None else {"api-version": version}
    response = api.client.get(
        "/computervision/datasets", params=params, headers={"Ocp-Apim-Subscription-Key": "training-key-1"}
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidRequest" and "2023-02-01-preview" in error["message"]
    assert "2023-04-01-preview" in error["message"]


@pytest.mark.parametrize("version", ["2023-02-01-preview", "2023-04-01-preview"])
def test_both_api_versions_are_served(api: Api, version: str) -> None:
    response = api.client.get(
        "/computervision/datasets", params={"api-version": version},
        headers={"Ocp-Apim-Subscription-Key": "training-key-1"},
    )
    assert response.status_code == 200


def test_malformed_json_is_400(api: Api) -> None:
    response = api.call("PUT", "datasets/x", content=b'{"annotationKind": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_of(response)["code"] == "InvalidRequest"


def test_a_body_that_is_not_an_object_is_400(api: Api) -> None:
    response = api.call("PUT", "datasets/x", json=["imageClassification"])
    assert response.status_code == 400


def test_huge_body_is_413_without_being_read_whole(api: Api) -> None:
    body = json.dumps({"annotationKind": "imageClassification", "annotationFileUris": ["x" * (2 * 1024 * 1024)]})
    response = api.call("PUT", "datasets/x", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert error_of(response)["code"] == "InvalidRequest"
    assert "1024 KB" in error_of(response)["message"]


def test_deeply_nested_json_is_refused(api: Api) -> None:
    deep = '{"annotationKind": "imageClassification", "annotationFileUris": ["/x"], "customProperties": ' + (
        '{"a": ' * 200 + '"v"' + "}" * 200
    ) + "}"
    response = api.call("PUT", "datasets/x", content=deep, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["innererror"]["code"] == "JsonTooDeep"


def test_brackets_inside_strings_do_not_count_as_nesting(api: Api) -> None:
    uri = api.coco("a [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ b.json", {})
    response = api.call(
        "PUT", "datasets/x", content=json.dumps({"annotationKind": "imageClassification", "annotationFileUris": [uri]}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400  # the file's content is not COCO, but the body was accepted
    assert error_of(response)["code"] == "DatasetInvalidAnnotationUri"


def test_other_media_types_are_415(api: Api) -> None:
    response = api.call("PUT", "datasets/x", content=b"<dataset/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415


def test_unknown_paths_and_methods_use_the_envelope(api: Api) -> None:
    missing = api.call("GET", "nothing/here")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
    wrong = api.call("POST", "datasets/x", json={})
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "MethodNotAllowed"
    # Every method of the path, though FastAPI declares one route per method.
    assert wrong.headers["Allow"] == "DELETE, GET, PATCH, PUT" and "DELETE, GET, PATCH, PUT" in error_of(wrong)["message"]
    assert api.call("DELETE", "models").headers["Allow"] == "GET"
    custom_vision = api.client.put("/customvision/v3.3/training/projects", headers={"Training-Key": TRAINING_KEY})
    assert custom_vision.status_code == 405 and custom_vision.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize("path", ["datasets", "models", "models/m/evaluations"])
@pytest.mark.parametrize(
    ("params", "target", "range_"),
    [({"skip": "41448187657476569563136"}, "skip", "0 to 2147483647"), ({"skip": 2**63}, "skip", "0 to 2147483647"),
     ({"skip": -1}, "skip", "0 to 2147483647"), ({"top": 0}, "top", "1 to 30"), ({"top": 2**64}, "top", "1 to 30")],
)
def test_skip_and_top_out_of_range_are_400_naming_the_range(api: Api, path: str, params: dict, target: str,
                                                            range_: str) -> None:
    response = api.call("GET", path, params=params)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest" and error["innererror"]["code"] == "InvalidField"
    assert error["target"] == f"query.{target}" and f"must be an integer from {range_}" in error["message"]
    assert response.headers["x-ms-error-code"] == "InvalidRequest"


def test_the_largest_skip_is_an_empty_page(api: Api) -> None:
    page = api.call("GET", "datasets", params={"skip": 2**31 - 1, "top": 30})
    assert page.status_code == 200 and page.json() == {"value": []}


def test_openapi_document_describes_the_wire_format_without_a_key(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/computervision/datasets/{name}"]) == {"put", "get", "patch", "delete"}
    assert "get" in paths["/computervision/datasets"]
    schema = doc["components"]["schemas"]["DatasetIn"]
    assert set(schema["properties"]) == {"annotationKind", "annotationFileUris", "customProperties", "authentication"}
    out = doc["components"]["schemas"]["DatasetOut"]["properties"]
    assert {"createdDateTime", "updatedDateTime", "eTag"} <= set(out)
    parameters = {p["name"] for p in paths["/computervision/datasets"]["get"]["parameters"]}
    assert {"api-version", "skip", "top"} <= parameters
    assert "Ocp-Apim-Subscription-Key" in json.dumps(doc["components"]["securitySchemes"])
    skip, top = (next(p["schema"] for p in paths["/computervision/datasets"]["get"]["parameters"] if p["name"] == n)
                 for n in ("skip", "top"))
    assert (skip["minimum"], skip["maximum"], top["minimum"], top["maximum"]) == (0, 2**31 - 1, 1, 30)
    # API.md's name pattern, on every name in a path.
    for path, operations in paths.items():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "path" and parameter["name"] in ("name", "model"):
                    assert parameter["schema"]["pattern"] == "^[a-zA-Z0-9][a-zA-Z0-9._-]*$", path
                    assert parameter["schema"]["maxLength"] == 255
    assert api.client.get("/docs").status_code == 200
