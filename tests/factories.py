import factory
from django.contrib.auth import get_user_model

from templates_app.models import Template
from templates_app.services import set_template_tags
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


class TemplateFactory(factory.django.DjangoModelFactory):
    """A user template with its version 1, as `template_create` would leave it."""

    class Meta:
        model = Template
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    definition = factory.LazyFunction(lambda: simple_definition("start", "end"))
    parameters = factory.LazyFunction(list)
    visibility = "private"
    version = 1

    @factory.post_generation
    def first_version(obj, create, extracted, **kwargs):
        if create:
            obj.versions.create(
                number=1,
                definition=obj.definition,
                parameters=obj.parameters,
                changelog="Created",
                created_by=obj.author,
            )

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create and extracted:
            set_template_tags(template=obj, names=list(extracted))
