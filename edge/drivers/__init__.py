"""edge/drivers."""
