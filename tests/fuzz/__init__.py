"""tests/fuzz: bounded fuzzers (hypothesis, atheris) and bad input at volume against the real services."""
