"""tests/bench: every benchmark in its smoke mode."""
