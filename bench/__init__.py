"""``make bench``: the performance benchmark harness (not part of the product; see bench/run.py)."""
