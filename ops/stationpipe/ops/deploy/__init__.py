"""Deployment helpers: Mosquitto password and ACL files generated from the station registry."""
