"""The demo fleet: four agents posting realistic proposals through the real HTTP API.

- :mod:`inbox.demo.scenarios`: who proposes what (the four scenarios' agents, actions and payloads);
- :mod:`inbox.demo.fleet`: the runtime (agent threads, waiting for decisions, printing them).
"""
