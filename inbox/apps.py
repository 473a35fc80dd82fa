from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Open inbox sockets hear about logouts and lost access (inbox/signals.py).
        from . import signals

        signals.connect()
        # /metrics reads the pending proposals per inbox and the owed webhooks (inbox/metrics.py).
        from orchestra_site import metrics as site_metrics

        from .metrics import InboxCollector

        site_metrics.register(InboxCollector())
