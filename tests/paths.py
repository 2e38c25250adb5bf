"""Folders the tests read, independent of how deep a test file sits in tests/."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DUMMY = TESTS / "dummy_data"
FIXTURES = TESTS / "fixtures"
