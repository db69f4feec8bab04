"""Acknowledgement and disposition of warnings: the operators' API and page (预警处置台).

=============  ================================================================================
module         what it holds
=============  ================================================================================
workflow       the human states and actions, who may do what, and the transitions (pure)
accounts       the users file: scrypt-hashed passwords, hashed API tokens, roles
httpserver     a small asyncio HTTP/1.1 server (one request per connection)
desk           actions applied to the engine's instances, journaled and published in one commit
api            the JSON API (``/api/v1/…``): Basic or Bearer authentication
page           the server-rendered bilingual page: login, sessions, CSRF tokens, forms
views          the page's HTML
users_cli      ``stationpipe rules user …``: manage the users file
=============  ================================================================================

It runs inside the rules engine because the engine owns the instances and their durable state: an action
and the republished retained state are committed with the instance in one SQLite transaction, and the
acknowledgement is on the instance the engine's channels read (docs/design.md#the-operators-desk).
"""
