"""The session's converted weights folder (`weights_dir`) is a suite-wide fixture: see tests/trained.py."""
