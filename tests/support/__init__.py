"""Test helpers shared by every test package (and by bench/): runners, builders, servers."""
