from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from . import models
        from .snapshot import bump_version

        # Any change to a governed record invalidates every process's policy snapshot (after commit).
        # Agents, domains and tokens too: processes remember agents' tokens while the version holds, so a
        # suspension or revocation takes effect everywhere at the next request.
        for model in (models.Policy, models.AuthorityRule, models.ActionType, models.ActionCategory,
                      models.AgentGroup, models.Domain, models.Inbox, models.Agent, models.ApiToken):
            post_save.connect(bump_version, sender=model, dispatch_uid=f"gov-save-{model.__name__}")
            post_delete.connect(bump_version, sender=model, dispatch_uid=f"gov-delete-{model.__name__}")
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from .audit.changes import group_membership_changed, model_permissions_changed

        m2m_changed.connect(group_membership_changed, sender=get_user_model().groups.through,
                            dispatch_uid="audit-group-membership")
        for through in (get_user_model().user_permissions.through, Group.permissions.through):
            m2m_changed.connect(model_permissions_changed, sender=through,
                                dispatch_uid=f"audit-perms-{through.__name__}")
        for through in (models.Policy.agents.through, models.Policy.agent_groups.through,
                        models.AgentGroup.agents.through):
            m2m_changed.connect(bump_version, sender=through, dispatch_uid=f"gov-m2m-{through.__name__}")
