"""Browser forms of the reviewer app: they parse what the page sends; the rules live in services."""
import json

from django import forms

from governance.models import Risk
from orchestra_site.formats import json_problem

from .models import NotificationPreference, Proposal
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


class InboxFilterForm(forms.Form):
    """The inbox list's query string: tab (``status``), filters, search, order and page. Every field
    is optional; an invalid one is reported (``errors``) and left out, the others still apply."""

    STATUS_CHOICES = [("pending", "Pending"), ("decided", "Decided"), ("all", "All")] + [
        (s, label) for s, label in Proposal.Status.choices if s != Proposal.Status.PENDING]
    DEADLINE_CHOICES = [("", "Any deadline"), ("overdue", "Overdue"), ("1h", "Due within 1 h"),
                        ("today", "Due today"), ("none", "No deadline")]
    ORDER_CHOICES = [("newest", "Newest first"), ("urgent", "Most urgent first")]
    PAGE_MAX = 100_000

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    risk = forms.ChoiceField(choices=[("", "Any risk"), *Risk.choices], required=False)
    agent = forms.CharField(max_length=120, required=False, strip=True)
    action = forms.CharField(max_length=120, required=False, strip=True)
    deadline = forms.ChoiceField(choices=DEADLINE_CHOICES, required=False)
    q = forms.CharField(max_length=200, required=False, strip=True, label="Search")
    order = forms.ChoiceField(choices=ORDER_CHOICES, required=False)
    page = forms.IntegerField(min_value=1, max_value=PAGE_MAX, required=False)

    def clean_agent(self):
        """The ``Agent`` named so (None for no filter); an unknown name is an error, not an empty list."""
        from .selectors import agent_by_name

        name = self.cleaned_data["agent"]
        if not name:
            return None
        agent = agent_by_name(name)
        if agent is None:
            raise forms.ValidationError(f"No agent is called “{name}”.")
        return agent

    def filters(self) -> dict:
        """The valid values, with defaults for the missing or invalid ones: keyword arguments of
        ``selectors.inbox_list`` plus ``page``."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "pending", "risk": data.get("risk") or "", "agent": data.get("agent"),
            "action": data.get("action") or "", "deadline": data.get("deadline") or "", "q": data.get("q") or "",
            "order": data.get("order") or "newest", "page": data.get("page") or 1,
        }

    def narrowed(self) -> bool:
        """Does any filter or search leave proposals out (beyond the tab and the order)?"""
        f = self.filters()
        return bool(f["risk"] or f["agent"] or f["action"] or f["deadline"] or f["q"])
