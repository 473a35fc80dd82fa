"""Browser forms of the reviewer app: they parse what the page sends; the rules live in services."""
import json

from django import forms

from orchestra_site.formats import json_problem

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
