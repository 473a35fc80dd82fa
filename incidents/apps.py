from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The inbox never imports incidents: remediations (proposals with "incident") and the demo
        # scenario are registered with its hooks (decisions reach the timeline through ``decided``).
        from inbox import hooks
        from inbox import watcher as change_watcher

        from . import demo, remediation
        from . import watcher as incidents_watcher

        hooks.register_links(hooks.ProposalLinks(
            name="incident", resolve=remediation.resolve, route=remediation.route, linked=remediation.linked,
            access=remediation.access, access_many=remediation.access_many,
            decided=remediation.decided))
        hooks.register_demo(demo.EXTENSION)
        change_watcher.register_look(incidents_watcher.look_once)  # without Redis: other processes' changes
