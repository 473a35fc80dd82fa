from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Open inbox sockets hear about logouts and lost access (inbox/signals.py).
        from . import signals

        signals.connect()
