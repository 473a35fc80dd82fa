"""The bare baseline the ingest benchmark measures Orchestra against, in the same run on the same machine.

A Django + django-ninja project with nothing else: no middleware, one app, two tables. ``POST
/api/v1/proposals`` does what any authenticated insert must do: one token look-up (by SHA-256 digest,
as Orchestra stores tokens) and one INSERT of the JSON body, answering 201 with the new row's id.
Served like Orchestra's WSGI run (gunicorn sync workers) on the same PostgreSQL database, with the
same connection pool settings. ``GET /api/v1/proposals`` without a token answers 401, which is what
``Bench.start`` waits for.
"""
