"""Custom Vision's exports of an iteration (export_iteration, get_exports): ONNX, the same file as
`GET /computervision/models/{name}/export` (tailor.exports), handed out as Custom Vision hands its exports out: a
zip (`model.onnx`, `labels.txt`) behind a download URI that needs no key, valid for a day. The file is made
while export_iteration waits (seconds), so an export is `Done` as soon as it is listed.

    view = exports.export(project_id, iteration_id, "ONNX", None)    # ExportView(platform, status, token, flavor)
    name, data = exports.download(view.token)                        # ("<iteration name>.ONNX.zip", zip bytes)
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from ..blobs import Storage
from ..errors import SecretUnreadable
from ..exports import ExportService
from ..secrets import SecretBox
from .codes import ErrorCode, ExportPlatform, ExportStatus, IterationStatus
from .errors import CustomVisionError
from .iterations import IterationService, IterationView, model_name_of

DOWNLOAD_TTL_S = 24 * 3600
FLAVORS = ("ONNX10", "ONNX12")  # the ONNX flavors the SDK names; both are served the same file (opset 17)
_DateTime = tuple[int, int, int, int, int, int]  # a zip entry's date_time


@dataclass(frozen=True)
class ExportView:
    platform: ExportPlatform
    status: ExportStatus
    token: str  # opens the download without a key (`download`)
    flavor: str | None


class IterationExports:
    def __init__(self, iterations: IterationService, exports: ExportService, storage: Storage, secrets: SecretBox,
                 clock: Callable[[], float] = time.time):
        """storage: where the exports asked for are recorded (beside the project's images, deleted with them)."""
        self._iterations = iterations
        self._storage = storage
        self._exports = exports
        self._secrets = secrets
        self._clock = clock

    def export(self, project_id: str, iteration_id: str, platform: str | None, flavor: str | None) -> ExportView:
        view = self._iterations.get(project_id, iteration_id)
        if view.status is IterationStatus.TRAINING:
            raise CustomVisionError(ErrorCode.EXPORT_WHILE_TRAINING,
                                    f"{view.iteration.name} is still training: export it once it is Completed")
        if view.status is not IterationStatus.COMPLETED:
            raise CustomVisionError(ErrorCode.ITERATION_IS_NOT_TRAINED,
                                    f"{view.iteration.name} is {view.status.value}: only a Completed iteration exports")
        if (platform or "").upper() != ExportPlatform.ONNX.value.upper():
            raise CustomVisionError(ErrorCode.EXPORT_VALIDATION_FAILED,
                                    f"platform {platform!r} is not offered by Tailor: export to ONNX")
        if flavor and flavor.upper() not in FLAVORS:
            raise CustomVisionError(ErrorCode.EXPORT_VALIDATION_FAILED,
                                    f"flavor {flavor!r} is not an ONNX flavor: give {' or '.join(FLAVORS)}, or none")
        self._exports.onnx(model_name_of(view.iteration.id))  # made and kept now, if it was not yet
        flavor = flavor.upper() if flavor else None
        # Listed from now on, as Custom Vision lists the exports asked for (analyze may have made the file before).
        self._storage.put(_record_key(view), json.dumps({"flavor": flavor}).encode(), "application/json")
        return self._view(view, flavor)

    def list(self, project_id: str, iteration_id: str) -> list[ExportView]:
        view = self._iterations.get(project_id, iteration_id)
        if view.status is not IterationStatus.COMPLETED or not self._storage.exists(_record_key(view)):
            return []
        return [self._view(view, json.loads(self._storage.get(_record_key(view))).get("flavor"))]

    def download(self, token: str) -> tuple[str, bytes]:
        """(file name, the zip) for a token of `export`/`list`; NotFound when the token is not ours or has expired,
        and when its iteration is gone."""
        model, name, trained = self._opened(token)
        onnx_file = self._exports.onnx(model)
        from ..automl.runtime import metadata_of

        labels = json.loads(metadata_of(onnx_file)["tailor.classes"])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            # dated as the model was trained, not as it was downloaded: the same export is the same bytes
            for name_in_zip, data in (("model.onnx", onnx_file), ("labels.txt", "".join(f"{x}\n" for x in labels))):
                archive.writestr(zipfile.ZipInfo(name_in_zip, date_time=trained), data, zipfile.ZIP_DEFLATED)
        return f"{name}.ONNX.zip", buffer.getvalue()

    def _view(self, view: IterationView, flavor: str | None) -> ExportView:
        trained = (view.trained_at or view.iteration.created).timetuple()[:6]
        claim = {"model": model_name_of(view.iteration.id), "name": view.iteration.name, "trained": trained,
                 "expires": int(self._clock()) + DOWNLOAD_TTL_S}
        return ExportView(ExportPlatform.ONNX, ExportStatus.DONE, self._secrets.seal(json.dumps(claim)), flavor)

    def _opened(self, token: str) -> tuple[str, str, _DateTime]:
        expired = CustomVisionError(ErrorCode.NOT_FOUND,
                                    "this download link is not valid or has expired: list the iteration's exports "
                                    "(get_exports) for a fresh one")
        if not SecretBox.is_sealed(token):  # an unsealed value would be taken as it is: never from a caller
            raise expired
        try:
            claim = json.loads(self._secrets.open(token, "the download link"))
            if claim["expires"] < self._clock():
                raise expired
            # the claim was sealed by `_view`, with the six numbers of a zip entry's date
            return str(claim["model"]), str(claim["name"]), cast(_DateTime, tuple(int(x) for x in claim["trained"]))
        except CustomVisionError:
            raise
        except (SecretUnreadable, ValueError, KeyError, TypeError):  # no key opens it, or it is not our claim
            raise expired from None


def _record_key(view: IterationView) -> str:
    return f"projects/{view.iteration.project_id}/exports/{view.iteration.id}/onnx.json"
