"""Template filters for the words a reviewer understands (``governance.words``):
``{{ proposal.level|level_name }}`` → "domain orchestrator", ``{{ proposal.category|category_label }}`` →
"Scope changes". Load with ``{% load reviewer_words %}``."""
from django import template

from governance import words

register = template.Library()


@register.filter
def level_name(level: str) -> str:
    """An authority level's name, lower case ("first-line review"); ``|capfirst`` to head a cell."""
    return words.level_name(level)


@register.filter
def category_label(slug: str) -> str:
    """An action category's label ("Scope changes"); the slug in words when no category has it."""
    return words.category_label(slug)
