"""The edge agent's store-and-forward spool: an append-only log of segment files on local disk.

Every message enters the spool (with its per-station ``seq``) before it is published, and leaves only
after its acknowledgement (the broker's PUBACK, the platform's 9014). The spool is bounded by message
count, bytes and age; when a bound is hit the oldest messages are dropped and counted. Shape and
guarantees: :mod:`.log`; the files: :mod:`.segment`, :mod:`.frames`, :mod:`.cursor`; the upgrade from
the SQLite spool of earlier versions: :mod:`.legacy`; reading a spool from outside: :mod:`.view`.
"""

from stationpipe.edge.spool.log import Spool, Spooled, SpoolLimits
from stationpipe.edge.spool.view import SpoolView, view

__all__ = ["Spool", "SpoolLimits", "SpoolView", "Spooled", "view"]
