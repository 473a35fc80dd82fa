"""Words a reviewer understands (``governance.words``): levels by name, categories by label."""
import pytest

from governance import services, words
from governance.models import ActionCategory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("level", "name", "above"), [
    ("agent", "first-line review", "domain orchestrator"),
    ("domain", "domain orchestrator", "enterprise board"),
    ("enterprise", "enterprise board", ""),
])
def test_levels_by_name(level, name, above):
    assert words.level_name(level) == name
    assert words.next_level_name(level) == above


def test_an_unknown_level_comes_back_as_given():
    assert words.level_name("") == "" and words.level_name("galaxy") == "galaxy"


def test_categories_by_label():
    assert words.category_label("scope_change") == "Scope changes"
    assert words.category_label("") == ""
    assert words.category_label("no_such_category") == "no such category"


def test_a_renamed_category_is_named_anew(django_user_model):
    category = ActionCategory.objects.get(slug="scope_change")
    services.action_category_save(category=category, by=None, name="Changes of scope")
    assert words.category_label("scope_change") == "Changes of scope"  # the snapshot was refreshed
