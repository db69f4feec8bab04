"""tests/cases."""
