"""tests/access: who may do what, against the real broker, database and webhook receiver."""
