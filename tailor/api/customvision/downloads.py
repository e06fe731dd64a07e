"""Files handed out by link, as Custom Vision hands out an export's `downloadUri`: no key, the link is the credential
(sealed, and valid for a day: tailor.customvision.exports)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .deps import CustomVision

router = APIRouter(tags=["custom vision training"])


@router.get("/exports/{token}", response_class=Response,
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
def download_export(cv: CustomVision, token: str) -> Response:
    """An iteration's export: a zip of model.onnx and labels.txt."""
    name, data = cv.exports.download(token)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
