from django.urls import path

from . import views

app_name = "inbox"
urlpatterns = [
    path("", views.home, name="home"),
    path("inboxes/<slug:slug>/", views.inbox_detail, name="inbox"),
    path("proposals/<uuid:proposal_id>/", views.proposal_detail, name="proposal"),
    path("proposals/<uuid:proposal_id>/escalate/", views.proposal_escalate, name="escalate"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
