"""Words a reviewer understands, for the names the records keep as codes.

- An authority level by its name: ``agent`` is *first-line review*, ``domain`` the *domain
  orchestrator*, ``enterprise`` the *enterprise board* (``Level``'s stored values and labels stay as
  they are: routing reasons and the API use those).
- An action category by its label (``ActionCategory.name``: "Scope changes" for ``scope_change``),
  read from the governance snapshot, so naming a category costs no query.
"""
from .models import Level
from .snapshot import current

LEVEL_NAMES = {
    Level.AGENT: "first-line review",
    Level.DOMAIN: "domain orchestrator",
    Level.ENTERPRISE: "enterprise board",
}


def level_name(level: str) -> str:
    """``"domain"`` → ``"domain orchestrator"`` (lower case, to stand inside a sentence; capitalise
    it to head a cell). An unknown or blank level comes back as given."""
    return LEVEL_NAMES.get(level, level or "")


def category_label(slug: str) -> str:
    """``"scope_change"`` → ``"Scope changes"``: the category's label, or for a slug no category has
    (deleted since, or never seeded) the slug in words (``"scope change"``). Blank stays blank."""
    if not slug:
        return ""
    return current().category_names.get(slug) or slug.replace("_", " ")


def next_level_name(level: str) -> str:
    """The name of the level above ``level`` ("domain orchestrator" above first-line review); "" at the top."""
    order = list(LEVEL_NAMES)
    if level not in order or order.index(level) == len(order) - 1:
        return ""
    return LEVEL_NAMES[order[order.index(level) + 1]]
