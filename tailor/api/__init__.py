"""The REST service: the Image Analysis 4.0 model-customization wire format (shared API.md) over Tailor.

Routes stay thin: parse, call one domain function, shape the response. Keys, api-version and body limits are
checked by the gateway before any route; errors leave in the Azure envelope (errors.py). Analyze of an image's
bytes, the hot path, is answered by `analyze_lane` inside the gateway, with the analyze route's own helpers.

May import: every room but tailor.cli and tailor.automl (the services reach automl for it): tailor.blobs,
tailor.coco, tailor.customvision, tailor.datasets, tailor.enums, tailor.errors, tailor.evaluations, tailor.exports,
tailor.logs, tailor.models, tailor.portal, tailor.predictions, tailor.records, tailor.secrets, tailor.settings,
tailor.store, tailor.workers.
"""

from .app import create_app

__all__ = ["create_app"]
