"""Custom Vision's face on the one domain: projects, tags, images Tailor stores, iterations (Tailor trainings),
publishing and predictions. codes.py holds its vocabulary; the API (tailor.api.customvision) translates the wire.

May import: tailor.automl, tailor.blobs, tailor.coco, tailor.datasets, tailor.enums, tailor.errors,
tailor.exports, tailor.models, tailor.predictions, tailor.reports, tailor.secrets, tailor.store."""
