import factory
from django.contrib.auth import get_user_model

from workflows.models import Folder, Tag, Workflow, WorkflowVersion

PASSWORD = "correct horse battery staple"


def simple_definition(*node_ids: str) -> dict:
    """A chain of noop nodes, in the order given."""
    ids = node_ids or ("start",)
    return {
        "nodes": [{"id": node_id, "type": "noop"} for node_id in ids],
        "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)],
        "settings": {},
    }


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class FolderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Folder

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Folder {n}")
    parent = None


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class WorkflowFactory(factory.django.DjangoModelFactory):
    """A workflow with its version 1, as `workflow_create` would leave it."""

    class Meta:
        model = Workflow
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    definition = factory.LazyFunction(lambda: simple_definition("start", "end"))
    version = 1

    @factory.post_generation
    def first_version(obj, create, extracted, **kwargs):
        if create:
            WorkflowVersion.objects.create(
                workflow=obj, number=1, definition=obj.definition, changelog="Created", created_by=obj.owner
            )

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tags.set(extracted)
