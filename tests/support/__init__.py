"""Test helpers shared by every test package (and by bench/): runners, builders, servers; fixtures live in tests/conftest.py."""
