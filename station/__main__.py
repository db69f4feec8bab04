"""``python -m station`` is the ``stationpipe`` command."""

from station.cli import main

main()
