"""Browser forms of the board and the war room: they parse what a page posts (lengths, choices, no
NUL characters); the rules live in the services."""
from django import forms

from .models import RoleKind, SeverityLevel, Status

SEVERITIES = SeverityLevel.choices


class DeclareForm(forms.Form):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=SEVERITIES)
    domain = forms.SlugField(max_length=80)
    resource = forms.CharField(max_length=255, required=False)
    symptom = forms.CharField(max_length=200, required=False)
    summary = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in Status.choices if c[0] != Status.MERGED])
    reason = forms.CharField(max_length=2000, required=False)


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(choices=SEVERITIES)
    reason = forms.CharField(max_length=2000, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 2}))


class CommanderForm(forms.Form):
    username = forms.CharField(max_length=150)
    reason = forms.CharField(max_length=2000)


class RoleForm(forms.Form):
    username = forms.CharField(max_length=150)
    kind = forms.ChoiceField(choices=[c for c in RoleKind.choices if c[0] != RoleKind.COMMANDER])
    remove = forms.BooleanField(required=False)


class DecideForm(forms.Form):
    verdict = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    comment = forms.CharField(max_length=20_000, required=False)


class UpdateForm(forms.Form):
    headline = forms.CharField(max_length=200, required=False)
    conditions = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    actions = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    needs = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MergeForm(forms.Form):
    into = forms.UUIDField()
    reason = forms.CharField(max_length=2000, required=False)


class RelateForm(forms.Form):
    other = forms.UUIDField()
    reason = forms.CharField(max_length=2000, required=False)
    remove = forms.BooleanField(required=False)


class SplitForm(forms.Form):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=SEVERITIES)
    resource = forms.CharField(max_length=255, required=False)
    symptom = forms.CharField(max_length=200, required=False)
    reason = forms.CharField(max_length=2000, required=False)


class ImpactForm(forms.Form):
    impact_started_at = forms.DateTimeField(help_text="UTC, e.g. 2026-11-25 14:05")


class ReviewForm(forms.Form):
    body = forms.CharField(max_length=200_000, widget=forms.Textarea(attrs={"rows": 30, "class": "mono"}))
    action_items = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 6}))
