"""Jobs (train, evaluate) on arq or the in-process runner: wiring to `tailor.automl` and state transitions only.

Empty until training lands (issue 4).
"""
