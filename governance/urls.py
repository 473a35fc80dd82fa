from django.urls import path

from . import views

app_name = "governance"
urlpatterns = [
    path("kill-switch/", views.kill_switch, name="kill_switch"),
    path("domains/<slug:key>/suspend/", views.switch, {"kind": "domain", "action": "suspend"}, name="domain_suspend"),
    path("domains/<slug:key>/resume/", views.switch, {"kind": "domain", "action": "resume"}, name="domain_resume"),
    path("agents/<str:key>/suspend/", views.switch, {"kind": "agent", "action": "suspend"}, name="agent_suspend"),
    path("agents/<str:key>/resume/", views.switch, {"kind": "agent", "action": "resume"}, name="agent_resume"),
]
