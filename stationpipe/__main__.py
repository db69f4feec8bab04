"""``python -m stationpipe`` is the ``stationpipe`` command."""

from stationpipe.cli import main

main()
