"""Tailor: self-hosted model customization for computer vision.

Rooms: `coco/` (the COCO toolkit, pure), `blobs` (reading files and images from wherever they are), `api/` (the
REST service), `automl/` (training), `workers/` (jobs), `cli/` (the `tailor` command).
"""

__version__ = "0.1.0"
