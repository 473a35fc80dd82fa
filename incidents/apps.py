from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The inbox never imports incidents: remediations (proposals with "incident") and the demo
        # scenario are registered with its hooks, and decisions reach the timeline by post_save.
        from django.db.models.signals import post_save

        from inbox import hooks
        from inbox.models import Proposal

        from . import demo, remediation

        hooks.register_links(hooks.ProposalLinks(
            name="incident", resolve=remediation.resolve, route=remediation.route, linked=remediation.linked,
            access=remediation.access))
        hooks.register_demo(demo.EXTENSION)
        post_save.connect(remediation.on_proposal_saved, sender=Proposal, dispatch_uid="incidents.remediation_decided")
