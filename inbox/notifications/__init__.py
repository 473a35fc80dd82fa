"""Reviewers told outside the browser: new proposals in their inboxes, escalations to them, proposals
about to breach their SLA, by e-mail (immediately or as a digest) or in their inbox's Slack channel.

- ``models``: the preferences, an inbox's Slack webhook, and the two outboxes (what is to be told,
  and each delivery owed);
- ``preferences``: the services that change preferences and Slack settings, and ``anyone_listening``;
- ``fanout``: what the proposal path calls (cheap when nobody opted in), and turning an event into deliveries;
- ``outbox``: claims, retries with backoff, the sweep (same guarantees as ``inbox.outbox``);
- ``senders``: the e-mail and Slack messages; ``tasks``: the django-q2 entry points.
"""
