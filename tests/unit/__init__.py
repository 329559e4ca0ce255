"""In-process tests: no server, no subprocess, no socket, no Node (tests/conftest.py refuses them here)."""
