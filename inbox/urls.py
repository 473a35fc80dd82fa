from django.urls import path

from . import views, views_audit, views_batches, views_work

app_name = "inbox"
urlpatterns = [
    path("", views_work.home, name="home"),
    path("my-work/", views_work.my_work, name="my_work"),
    path("inboxes/<slug:slug>/", views.inbox_detail, name="inbox"),
    path("inboxes/<slug:slug>/decide/", views_batches.decide_selected, name="decide_selected"),
    path("proposals/<uuid:proposal_id>/", views.proposal_detail, name="proposal"),
    path("proposals/<uuid:proposal_id>/escalate/", views.proposal_escalate, name="escalate"),
    path("proposals/<uuid:proposal_id>/trace/", views_audit.proposal_trace, name="proposal_trace"),
    path("audit/", views_audit.audit_search, name="audit"),
    path("audit/workflows/<str:workflow>/", views_audit.workflow_trace, name="workflow_trace"),
    path("audit/alerts/", views_audit.alerts, name="alerts"),
    path("audit/alerts/<int:alert_id>/acknowledge/", views_audit.alert_ack, name="alert_ack"),
    path("profile/", views.profile, name="profile"),
    path("profile/notifications/", views.profile_notifications, name="profile_notifications"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("governance/kill-switch/", views.kill_switch, name="kill_switch"),
    path("governance/domains/<slug:key>/suspend/", views.switch, {"kind": "domain", "action": "suspend"},
         name="domain_suspend"),
    path("governance/domains/<slug:key>/resume/", views.switch, {"kind": "domain", "action": "resume"},
         name="domain_resume"),
    path("governance/agents/<str:key>/suspend/", views.switch, {"kind": "agent", "action": "suspend"},
         name="agent_suspend"),
    path("governance/agents/<str:key>/resume/", views.switch, {"kind": "agent", "action": "resume"},
         name="agent_resume"),
]
