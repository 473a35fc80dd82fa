"""factory_boy factories for the inbox and governance records."""
import secrets

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from governance.models import Agent, Domain, Inbox, Policy
from inbox.models import Proposal


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-1")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"group{n}")


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Domain{n}")
    slug = factory.LazyAttribute(lambda d: d.name.lower())


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    slug = factory.Sequence(lambda n: f"inbox-{n}")
    name = factory.LazyAttribute(lambda i: i.slug.replace("-", " ").title())
    domain = factory.SubFactory(DomainFactory)


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"agent-{n}")
    domain = factory.SubFactory(DomainFactory)
    webhook_secret = factory.LazyFunction(lambda: secrets.token_hex(32))


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proposal

    agent = factory.SubFactory(AgentFactory)
    inbox = factory.SubFactory(InboxFactory)
    action = "deploy.rollback"
    resource = "service:payments"
    args = factory.LazyFunction(lambda: {"service": "payments", "to_version": "2026.11.3"})
    summary = "Roll back payments"
    risk = "high"
    confidence = 0.8


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    name = factory.Sequence(lambda n: f"policy {n}")
    outcome = Policy.Outcome.REVIEW
