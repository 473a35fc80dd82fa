"""What-if variants of the app, to measure a proposed optimisation before anyone edits app code.

``python -m benchmarks.ingest --patches token_cache,rules_cache`` serves ``benchmarks.experiments.asgi``
(or ``.wsgi``) instead of ``orchestra_site.asgi``; it applies the named patches (``ORCH_BENCH_PATCHES``)
after Django starts. Each patch stands in for one proposal of benchmarks/README.md:

- ``token_cache``: ``token_authenticate`` answers from a per-process cache for 5 s (skips the token query);
- ``rules_cache``: ``governance.routing.active_rules`` cached per process for 5 s (skips the rules query);
- ``no_pending_count``: ``events.announce`` sends no ``pending_count`` (skips the COUNT per event);
- ``no_history``: no simple_history row for proposals (upper bound of making history cheaper);
- ``no_whitenoise``: WhiteNoise (a sync-only middleware) out of the chain (ASGI: one thread hop fewer);
- ``lean_middleware``: also drops sessions/auth/messages/CSRF/history middleware for ``/api/`` requests
  (upper bound of an API-only middleware chain);
- ``no_announce``: no live event on proposal creation (upper bound of moving the group_send off the request).
"""
