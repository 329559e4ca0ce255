"""Helpers the tests share (no fixtures: those are all in tests/conftest.py, and no test module imports another)."""
