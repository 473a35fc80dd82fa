from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.board, name="board"),
    path("incidents/declare/", views.declare, name="declare"),
    path("incidents/<uuid:incident_id>/", views.war_room, name="war_room"),
    path("incidents/<uuid:incident_id>/status/", views.set_status, name="status"),
    path("incidents/<uuid:incident_id>/severity/", views.set_severity, name="severity"),
    path("incidents/<uuid:incident_id>/notes/", views.add_note, name="note"),
    path("incidents/<uuid:incident_id>/commander/", views.hand_off, name="commander"),
    path("incidents/<uuid:incident_id>/roles/", views.set_role, name="role"),
    path("incidents/<uuid:incident_id>/impact/", views.set_impact, name="impact"),
    path("incidents/<uuid:incident_id>/merge/", views.merge, name="merge"),
    path("incidents/<uuid:incident_id>/split/", views.split, name="split"),
    path("incidents/<uuid:incident_id>/related/", views.relate, name="relate"),
    path("incidents/<uuid:incident_id>/remediations/<uuid:proposal_id>/decide/", views.decide_remediation,
         name="decide"),
    path("incidents/<uuid:incident_id>/updates/", views.draft_update, name="draft_update"),
    path("incidents/<uuid:incident_id>/updates/<int:update_id>/publish/", views.publish_update, name="publish"),
    path("incidents/<uuid:incident_id>/review/", views.review, name="review"),
    path("incidents/<uuid:incident_id>/review.md", views.review_export, name="review_export"),
    path("status/", views.status_page, name="status_page"),
]
