"""Browser forms of the reviewer app: they parse what the page sends; the rules live in services."""
import json

from django import forms

from orchestra_site.formats import json_problem

from .models import NotificationPreference
from .services import VERDICTS


class DecisionForm(forms.Form):
    """One form, four submit buttons (``verdict``). Whether a comment or args are required is
    ``services.proposal_decide``'s business; this form only turns the args textarea into JSON.
    Text with a NUL character is refused, in the comment (Django's ``CharField`` does it) and in
    the args."""

    verdict = forms.ChoiceField(choices=[(v, v) for v in VERDICTS])
    comment = forms.CharField(
        required=False, max_length=20_000, strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Optional for approve; required to reject or answer."}),
    )
    args = forms.CharField(
        required=False, max_length=200_000, strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
    )

    supersede = forms.BooleanField(
        required=False, initial=False,
        help_text="Approving also supersedes the pending conflicting proposals in inboxes where you decide "
                  "(off unless ticked; the others stay pending, marked as conflicting).",
    )

    def clean(self):
        data = super().clean()
        if data.get("verdict") == "edit":
            try:
                data["parsed_args"] = json.loads(data.get("args") or "")
            except json.JSONDecodeError as e:
                self.add_error("args", f"Not valid JSON: {e.msg} (line {e.lineno}, column {e.colno}).")
            else:  # "\u0000" in the JSON text is a NUL once parsed: refused, as in the API
                found = json_problem(data["parsed_args"])
                if found:
                    self.add_error("args", f"{found[0] or 'args'}: {found[1]}.")
        return data


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80, required=False, strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. laptop CLI", "autocomplete": "off"}),
    )


class NotificationPreferenceForm(forms.Form):
    """How a reviewer is told outside the browser (``notifications.preferences.notification_preference_set``)."""

    email = forms.ChoiceField(choices=NotificationPreference.Email.choices, widget=forms.RadioSelect,
                              label="E-mail")
    slack = forms.BooleanField(required=False, label="Post to the Slack channel of my inboxes (where one is set up)")
    on_new = forms.BooleanField(required=False, label="New proposals in my inboxes")
    on_escalation = forms.BooleanField(required=False, label="Proposals escalated to my inboxes")
    on_sla = forms.BooleanField(required=False, label="Proposals about to breach their SLA (80 % of it elapsed)")

    @classmethod
    def of(cls, pref: NotificationPreference) -> "NotificationPreferenceForm":
        return cls(initial={"email": pref.email, "slack": pref.slack, "on_new": pref.on_new,
                            "on_escalation": pref.on_escalation, "on_sla": pref.on_sla})
