"""Budget-limited AutoML: search space, budget ledger, trial runner, metrics, export, predictor.

Empty until training lands (issue 4). Knows nothing of HTTP or queues: it takes a dataset
(`tailor.coco.CocoDataset`) and a budget and returns a model artifact and metrics.
"""
