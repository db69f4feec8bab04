"""Data audit (数据审核) served beside the operators' desk: the store, the API and the page.

=========  ==============================================================================
module     what it holds
=========  ==============================================================================
store      marks and station-day statuses in the engine's SQLite file, append-only, with
           each record queued for MQTT (``audit/<station>/marks|days``) in the same commit
api        the JSON API (``/api/v1/audit/…``), the warnings API's authentication
page       the console page (``/audit/…``): the desk's sessions and CSRF tokens
views      the page's HTML (bilingual, no script)
=========  ==============================================================================

It runs in the rules engine because the engine owns the accounts, the HTTP server and a durable SQLite
state with an outbox that is drained to the broker (docs/design.md#audit). The model is the kernel's
(:mod:`stationpipe.kernel.audit`).
"""
