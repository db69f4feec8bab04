"""The pieces of ``scripts/demo``: the simulated fleet, the scripted timeline, the live view, the summary."""
