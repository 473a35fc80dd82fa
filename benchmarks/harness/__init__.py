"""Shared benchmark harness (no benchmark of its own):

- :mod:`~benchmarks.harness.server`: preflight, a fresh PostgreSQL database, the Orchestra server on it
  (``Bench``), the command-line options every benchmark shares;
- :mod:`~benchmarks.harness.seed`: the Django-side set-up (agents, reviewers, sessions), run by ``Bench``
  as ``python -m benchmarks.harness.seed`` in the served source tree;
- :mod:`~benchmarks.harness.client`: the benchmark proposal and a cheap keep-alive HTTP/1.1 client;
- :mod:`~benchmarks.harness.stats`: CPU accounting from ``/proc``, percentiles, tables, JSON output;
- :mod:`~benchmarks.harness.profiling`: py-spy recording and its summary.
"""
