"""The per-user secret store: encryption at rest, redaction, services, the API and the admin."""

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from structforge.errors import InvalidInput
from tests.factories import UserFactory
from workflows import secrets, selectors, services
from workflows.models import Secret

pytestmark = pytest.mark.django_db

API = "/api/v1"
SECRET_FIELDS = {"id", "name", "description", "created_at", "updated_at"}
VALUE = "sk_live_51HxQ-very-secret"
NOT_FOUND = {"detail": "No Secret matches the given query."}

INVALID_NAMES = ["", "_", "_PRIVATE", "1ABC", "has-dash", "has space", "é", "A" * 65, "dot.ted", "NA\nME"]
VALID_NAMES = ["A", "api_key", "API_KEY_", "Token2", "x" * 64]


@pytest.fixture
def old_key():
    return Fernet.generate_key().decode()


@pytest.fixture
def new_key():
    return Fernet.generate_key().decode()


@pytest.fixture
def token(alice):
    return services.secret_create(owner=alice, name="API_TOKEN", value=VALUE, description="Stripe")


def decrypted(secret: Secret) -> str:
    secret.refresh_from_db()
    return secrets.decrypt(secret.ciphertext)


def secrets_state() -> list[tuple]:
    return list(Secret.objects.order_by("pk").values_list("pk", "owner_id", "name", "description", "ciphertext"))


# --- Encryption -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x", VALUE, "  spaced  \n", "ünïcødé ☃ 🔑", "a" * 65_536])
def test_decrypt_gives_back_what_encrypt_was_given(value):
    assert secrets.decrypt(secrets.encrypt(value)) == value


def test_the_same_value_encrypts_to_a_different_token_each_time():
    assert secrets.encrypt(VALUE) != secrets.encrypt(VALUE)


def test_a_token_never_contains_the_value():
    assert VALUE not in secrets.encrypt(VALUE)


def test_a_value_encrypted_with_an_old_key_decrypts_after_a_new_first_key_is_added(settings, old_key, new_key):
    settings.STRUCTFORGE_SECRETS_KEYS = [old_key]
    token = secrets.encrypt(VALUE)

    settings.STRUCTFORGE_SECRETS_KEYS = [new_key, old_key]

    assert secrets.decrypt(token) == VALUE


def test_the_first_key_encrypts_and_reencrypt_moves_a_token_to_it(settings, old_key, new_key):
    settings.STRUCTFORGE_SECRETS_KEYS = [old_key]
    old_token = secrets.encrypt(VALUE)
    settings.STRUCTFORGE_SECRETS_KEYS = [new_key, old_key]
    new_token = secrets.encrypt(VALUE)
    moved = secrets.reencrypt(old_token)

    settings.STRUCTFORGE_SECRETS_KEYS = [new_key]

    assert secrets.decrypt(new_token) == VALUE
    assert secrets.decrypt(moved) == VALUE
    with pytest.raises(secrets.SecretDecryptionError):
        secrets.decrypt(old_token)


def test_without_configured_keys_the_key_is_derived_from_the_secret_key(settings):
    settings.STRUCTFORGE_SECRETS_KEYS = []
    token = secrets.encrypt(VALUE)

    assert Fernet(secrets.derive_key(settings.SECRET_KEY)).decrypt(token.encode()).decode() == VALUE
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(secrets.SecretDecryptionError):
        secrets.decrypt(token)


def test_the_derived_key_is_a_stable_fernet_key():
    key = secrets.derive_key("some secret key")

    assert key == secrets.derive_key("some secret key")
    assert key != secrets.derive_key("some other secret key")
    Fernet(key)  # raises if not 32 url-safe base64 bytes


@pytest.mark.parametrize("token", ["not a token", "gAAAAABfake", "ünïcødé"])
def test_a_token_no_key_opens_raises_an_error_that_does_not_quote_it(token):
    with pytest.raises(secrets.SecretDecryptionError) as caught:
        secrets.decrypt(token)

    assert token not in str(caught.value)


# --- System checks ------------------------------------------------------------------------------


def check_ids(*, deploy: bool) -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=deploy)}


def test_deploy_check_warns_when_keys_come_from_the_default_secret_key(settings):
    settings.STRUCTFORGE_SECRETS_KEYS = []
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY

    assert "structforge.W003" in check_ids(deploy=True)
    assert "structforge.W003" not in check_ids(deploy=False)


@pytest.mark.parametrize("configure", ["keys", "secret_key"])
def test_deploy_check_is_quiet_with_real_keys_or_a_real_secret_key(settings, configure, new_key):
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    settings.STRUCTFORGE_SECRETS_KEYS = []
    if configure == "keys":
        settings.STRUCTFORGE_SECRETS_KEYS = [new_key]
    else:
        settings.SECRET_KEY = "a-long-random-production-secret-key"

    assert "structforge.W003" not in check_ids(deploy=True)


def test_an_invalid_configured_key_is_an_error_that_does_not_quote_it(settings, new_key):
    settings.STRUCTFORGE_SECRETS_KEYS = [new_key, "not-a-fernet-key"]

    errors = [message for message in run_checks() if message.id == "structforge.E005"]

    assert len(errors) == 1
    assert "position 2" in errors[0].msg
    assert "not-a-fernet-key" not in errors[0].msg


def test_valid_configured_keys_pass_the_check(settings, old_key, new_key):
    settings.STRUCTFORGE_SECRETS_KEYS = [new_key, old_key]

    assert "structforge.E005" not in check_ids(deploy=False)


# --- Redaction ------------------------------------------------------------------------------------


def test_redact_walks_nested_json_and_leaves_other_values_alone():
    output = {
        "status": 200,
        "ok": True,
        "missing": None,
        "ratio": 1.5,
        "headers": {"Authorization": f"Bearer {VALUE}", "X-Other": "fine"},
        "body": [{"echo": VALUE}, ["deep", [f"prefix-{VALUE}-suffix"]]],
        VALUE: "the key too",
    }

    assert secrets.redact(output, [VALUE]) == {
        "status": 200,
        "ok": True,
        "missing": None,
        "ratio": 1.5,
        "headers": {"Authorization": "Bearer [redacted]", "X-Other": "fine"},
        "body": [{"echo": "[redacted]"}, ["deep", ["prefix-[redacted]-suffix"]]],
        "[redacted]": "the key too",
    }


def test_redact_returns_a_copy_and_leaves_the_input_unchanged():
    output = {"body": [VALUE]}

    redacted = secrets.redact(output, [VALUE])

    assert output == {"body": [VALUE]}
    assert redacted == {"body": ["[redacted]"]}


def test_redact_text_replaces_every_occurrence():
    text = f"GET https://api.example.com/?key={VALUE} failed; retrying with {VALUE}"

    assert secrets.redact_text(text, [VALUE]) == (
        "GET https://api.example.com/?key=[redacted] failed; retrying with [redacted]"
    )


def test_redact_replaces_several_secrets():
    text = "user=alice-admin password=hunter22 token=abcd1234"

    assert secrets.redact_text(text, ["hunter22", "abcd1234", "alice-admin"]) == (
        "user=[redacted] password=[redacted] token=[redacted]"
    )


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        # Two secrets that overlap leave no fragment of either behind.
        ("xx abcdefghi yy", ["abcdef", "defghi"], "xx [redacted] yy"),
        ("xx abcdefghi yy", ["defghi", "abcdef"], "xx [redacted] yy"),
        # A secret that contains another is replaced whole, not around its part.
        ("pass-word-123", ["word", "pass-word-123"], "[redacted]"),
        ("one word", ["word", "pass-word-123"], "one [redacted]"),
        # A value that overlaps itself.
        ("aaaaa", ["aaaa"], "[redacted]"),
        # Touching occurrences become one span.
        ("abcdwxyz!", ["abcd", "wxyz"], "[redacted]!"),
    ],
)
def test_redact_handles_overlapping_and_nested_values(text, values, expected):
    assert secrets.redact_text(text, values) == expected


def test_a_short_value_only_redacts_a_string_equal_to_it():
    output = {"pin": "123", "text": "call 123-456", "flag": "on", "other": "only"}

    assert secrets.redact(output, ["123", "on"]) == {
        "pin": "[redacted]",
        "text": "call 123-456",
        "flag": "[redacted]",
        "other": "only",
    }


def test_empty_values_and_no_values_change_nothing():
    output = {"a": ["text", 1], "": ""}

    assert secrets.redact(output, []) == output
    assert secrets.redact(output, [""]) == output
    assert secrets.redact_text("text", [""]) == "text"


# --- Services and selectors -----------------------------------------------------------------------


def test_secret_create_stores_only_ciphertext(alice):
    secret = services.secret_create(owner=alice, name="API_TOKEN", value=VALUE, description="Stripe")

    stored = Secret.objects.get(pk=secret.pk)
    assert (stored.owner, stored.name, stored.description) == (alice, "API_TOKEN", "Stripe")
    assert VALUE not in stored.ciphertext
    assert secrets.decrypt(stored.ciphertext) == VALUE


def test_secret_create_refuses_a_name_the_owner_already_has(alice, token):
    with pytest.raises(InvalidInput) as caught:
        services.secret_create(owner=alice, name="API_TOKEN", value="other")

    assert caught.value.errors == {"name": ["You already have a secret named 'API_TOKEN'."]}
    assert Secret.objects.count() == 1


def test_two_users_may_use_the_same_name(alice, bob, token):
    services.secret_create(owner=bob, name="API_TOKEN", value="bob's")

    assert selectors.secret_values(user=alice) == {"API_TOKEN": VALUE}
    assert selectors.secret_values(user=bob) == {"API_TOKEN": "bob's"}


# The API trims blanks around a name first; the service sees them as they are.
@pytest.mark.parametrize("name", [*INVALID_NAMES, "NAME\n", " NAME"])
def test_secret_create_refuses_an_invalid_name(alice, name):
    with pytest.raises(InvalidInput) as caught:
        services.secret_create(owner=alice, name=name, value=VALUE)

    assert list(caught.value.errors) == ["name"]
    assert not Secret.objects.exists()


@pytest.mark.parametrize("name", VALID_NAMES)
def test_secret_create_accepts_a_valid_name(alice, name):
    assert services.secret_create(owner=alice, name=name, value=VALUE).name == name


def test_secret_create_refuses_an_empty_value(alice):
    with pytest.raises(InvalidInput) as caught:
        services.secret_create(owner=alice, name="EMPTY", value="")

    assert caught.value.errors == {"value": ["Give the secret's value."]}


def test_secret_update_reencrypts_a_new_value_and_keeps_it_otherwise(token):
    ciphertext = token.ciphertext

    services.secret_update(secret=token, data={"name": "RENAMED", "description": "new"})
    assert (decrypted(token), token.ciphertext, token.name) == (VALUE, ciphertext, "RENAMED")

    services.secret_update(secret=token, data={"value": "rotated"})
    assert decrypted(token) == "rotated"


def test_secret_update_refuses_unknown_fields(token):
    with pytest.raises(InvalidInput) as caught:
        services.secret_update(secret=token, data={"owner": 1, "ciphertext": "x"})

    assert caught.value.errors == {
        "ciphertext": ["This field cannot be changed."],
        "owner": ["This field cannot be changed."],
    }


def test_secret_delete_removes_it(token):
    services.secret_delete(secret=token)

    assert not Secret.objects.exists()


def test_secret_values_returns_the_owners_decrypted_values_only(alice, bob, token, django_assert_num_queries):
    services.secret_create(owner=alice, name="DB_PASSWORD", value="p@ss word")
    services.secret_create(owner=bob, name="BOBS", value="bob's")

    with django_assert_num_queries(1):
        values = selectors.secret_values(user=alice)

    assert values == {"API_TOKEN": VALUE, "DB_PASSWORD": "p@ss word"}
    assert selectors.secret_values(user=alice.pk) == values
    assert selectors.secret_values(user=bob) == {"BOBS": "bob's"}


def test_secret_values_reads_only_the_names_asked_for(alice, bob, token, django_assert_num_queries):
    services.secret_create(owner=alice, name="DB_PASSWORD", value="p@ss word")
    services.secret_create(owner=bob, name="BOBS", value="bob's")

    with django_assert_num_queries(1):
        values = selectors.secret_values(user=alice, names=iter(["API_TOKEN", "BOBS", "MISSING"]))
    with django_assert_num_queries(0):
        nothing = selectors.secret_values(user=alice, names=[])

    assert values == {"API_TOKEN": VALUE}
    assert nothing == {}


def test_secret_values_names_a_secret_no_key_opens(settings, alice, token):
    settings.SECRET_KEY = "a-different-secret-key"

    with pytest.raises(secrets.SecretDecryptionError) as caught:
        selectors.secret_values(user=alice)

    assert "'API_TOKEN'" in str(caught.value)
    assert token.ciphertext not in str(caught.value)


def test_secrets_of_scopes_to_the_owner(alice, bob, token):
    services.secret_create(owner=bob, name="BOBS", value="bob's")

    assert list(selectors.secrets_of(user=alice)) == [token]


# --- API --------------------------------------------------------------------------------------------


def assert_reveals_nothing(response, *values: str) -> None:
    for secret in Secret.objects.all():
        assert secret.ciphertext not in response.content.decode()
    for value in values:
        assert value not in response.content.decode()
    assert b'"value"' not in response.content
    assert b"ciphertext" not in response.content


def test_create_answers_201_without_the_value(alice, alice_client):
    response = alice_client.post(
        f"{API}/secrets/", {"name": "API_TOKEN", "value": VALUE, "description": "Stripe"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == SECRET_FIELDS
    assert (body["name"], body["description"]) == ("API_TOKEN", "Stripe")
    assert_reveals_nothing(response, VALUE)
    secret = Secret.objects.get(pk=body["id"])
    assert (secret.owner, decrypted(secret)) == (alice, VALUE)


def test_create_keeps_blanks_around_the_value(alice_client):
    response = alice_client.post(f"{API}/secrets/", {"name": "PADDED", "value": "  x  \n"}, format="json")

    assert response.status_code == 201
    assert decrypted(Secret.objects.get()) == "  x  \n"


def test_list_and_detail_never_show_the_value_or_ciphertext(alice_client, token):
    listed = alice_client.get(f"{API}/secrets/")
    detail = alice_client.get(f"{API}/secrets/{token.pk}/")

    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert set(listed.json()["results"][0]) == SECRET_FIELDS
    assert detail.status_code == 200
    assert set(detail.json()) == SECRET_FIELDS
    assert (detail.json()["id"], detail.json()["name"]) == (token.pk, "API_TOKEN")
    assert_reveals_nothing(listed, VALUE)
    assert_reveals_nothing(detail, VALUE)


def test_the_list_holds_only_the_callers_secrets_by_name(alice, bob, alice_client, token):
    services.secret_create(owner=alice, name="ZULU", value="last value")
    services.secret_create(owner=alice, name="ALPHA", value="first value")
    services.secret_create(owner=bob, name="BOBS", value="bob's")

    response = alice_client.get(f"{API}/secrets/")

    assert [item["name"] for item in response.json()["results"]] == ["ALPHA", "API_TOKEN", "ZULU"]


def test_patch_with_a_value_replaces_it(alice_client, token):
    response = alice_client.patch(f"{API}/secrets/{token.pk}/", {"value": "rotated-value"}, format="json")

    assert response.status_code == 200
    assert_reveals_nothing(response, "rotated-value", VALUE)
    assert decrypted(token) == "rotated-value"


def test_patch_without_a_value_keeps_it(alice_client, token):
    ciphertext = token.ciphertext

    response = alice_client.patch(f"{API}/secrets/{token.pk}/", {"description": "Live key"}, format="json")

    assert response.status_code == 200
    assert response.json()["description"] == "Live key"
    token.refresh_from_db()
    assert (token.ciphertext, token.description) == (ciphertext, "Live key")


def test_put_renames_and_may_leave_the_value_out(alice_client, token):
    response = alice_client.put(f"{API}/secrets/{token.pk}/", {"name": "STRIPE_KEY"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == ("STRIPE_KEY", "Stripe")
    assert decrypted(token) == VALUE


def test_delete_answers_204_and_removes_it(alice_client, token):
    response = alice_client.delete(f"{API}/secrets/{token.pk}/")

    assert response.status_code == 204
    assert not Secret.objects.exists()


def test_a_duplicate_name_is_400_naming_name(alice, alice_client, token):
    before = secrets_state()

    response = alice_client.post(f"{API}/secrets/", {"name": "API_TOKEN", "value": "other"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["You already have a secret named 'API_TOKEN'."]}
    assert secrets_state() == before


def test_renaming_onto_another_secret_is_400_naming_name(alice, alice_client, token):
    other = services.secret_create(owner=alice, name="OTHER", value="other value")
    before = secrets_state()

    response = alice_client.patch(f"{API}/secrets/{other.pk}/", {"name": "API_TOKEN"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert secrets_state() == before


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_an_invalid_name_is_400_naming_name(alice_client, name):
    response = alice_client.post(f"{API}/secrets/", {"name": name, "value": VALUE}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert not Secret.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "NO_VALUE"}, "This field is required."),
        ({"name": "BLANK", "value": ""}, "This field may not be blank."),
        ({"name": "HUGE", "value": "x" * 65_537}, "Ensure this field has no more than 65536 characters."),
    ],
)
def test_create_needs_a_value(alice_client, body, message):
    response = alice_client.post(f"{API}/secrets/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"value": [message]}
    assert not Secret.objects.exists()


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("patch", {"value": "stolen"}),
        ("put", {"name": "STOLEN", "value": "stolen"}),
        ("delete", None),
    ],
)
def test_an_outsider_gets_404_on_every_verb_and_nothing_changes(bob_client, token, method, body):
    before = secrets_state()

    response = getattr(bob_client, method)(f"{API}/secrets/{token.pk}/", body, format="json")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert secrets_state() == before


def test_an_outsider_lists_none_of_them(bob_client, token):
    response = bob_client.get(f"{API}/secrets/")

    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "secrets/", None),
        ("post", "secrets/", {"name": "ANON", "value": "x"}),
        ("get", "secrets/{pk}/", None),
        ("patch", "secrets/{pk}/", {"value": "x"}),
        ("put", "secrets/{pk}/", {"name": "ANON"}),
        ("delete", "secrets/{pk}/", None),
    ],
)
def test_unauthenticated_requests_are_401(api_client, token, method, path, body):
    before = secrets_state()

    response = getattr(api_client, method)(f"{API}/{path.format(pk=token.pk)}", body, format="json")

    assert response.status_code == 401
    assert secrets_state() == before


def test_the_value_is_kept_out_of_error_reports(alice_client):
    response = alice_client.post(f"{API}/secrets/", {"name": "FORM", "value": VALUE})  # form-encoded

    assert response.status_code == 201
    assert response.wsgi_request.sensitive_post_parameters == ("value",)


SECRET_LIST_QUERIES = 2  # count, page


@pytest.mark.parametrize("count", [1, 30])
def test_the_secret_list_costs_the_same_queries_for_1_and_30_secrets(
    alice, alice_client, django_assert_max_num_queries, count
):
    for index in range(count):
        services.secret_create(owner=alice, name=f"SECRET_{index}", value=f"value number {index}")

    with django_assert_max_num_queries(SECRET_LIST_QUERIES):
        response = alice_client.get(f"{API}/secrets/")

    assert response.status_code == 200
    assert response.json()["count"] == count


def test_the_schema_documents_the_value_as_write_only():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    paths = schema["paths"]

    def ref(operation, *keys):
        for key in keys:
            operation = operation[key]
        return components[operation["$ref"].rsplit("/", 1)[-1]]

    create_body = ref(paths[f"{API}/secrets/"]["post"], "requestBody", "content", "application/json", "schema")
    patch_body = ref(paths[f"{API}/secrets/{{id}}/"]["patch"], "requestBody", "content", "application/json", "schema")
    put_body = ref(paths[f"{API}/secrets/{{id}}/"]["put"], "requestBody", "content", "application/json", "schema")
    answer = ref(paths[f"{API}/secrets/{{id}}/"]["get"], "responses", "200", "content", "application/json", "schema")

    assert create_body["properties"]["value"]["writeOnly"] is True
    assert create_body["required"] == ["name", "value"]
    assert put_body["required"] == ["name"]
    assert "required" not in patch_body
    assert set(answer["properties"]) == SECRET_FIELDS
    assert set(paths[f"{API}/secrets/{{id}}/"]) >= {"get", "put", "patch", "delete"}


# --- Admin ------------------------------------------------------------------------------------------


def admin_url(action: str, *args) -> str:
    return reverse(f"admin:workflows_secret_{action}", args=args)


def value_input(response) -> str:
    text = response.text
    start = text.index('name="value"')
    return text[text.rindex("<input", 0, start) : text.index(">", start) + 1]


def test_admin_add_page_offers_an_empty_password_box(admin_client, db):
    response = admin_client.get(admin_url("add"))

    assert response.status_code == 200
    box = value_input(response)
    assert 'type="password"' in box
    assert "value=" not in box.replace('name="value"', "")
    assert 'name="ciphertext"' not in response.text


def test_admin_add_encrypts_the_value(admin_client, alice):
    response = admin_client.post(
        admin_url("add"), {"owner": alice.pk, "name": "FROM_ADMIN", "description": "", "value": VALUE}
    )

    assert response.status_code == 302
    secret = Secret.objects.get()
    assert (secret.owner, secret.name, decrypted(secret)) == (alice, "FROM_ADMIN", VALUE)
    assert VALUE not in secret.ciphertext


def test_admin_keeps_the_value_out_of_error_reports(admin_client, alice):
    response = admin_client.post(admin_url("add"), {"owner": alice.pk, "name": "FORM", "value": VALUE})

    assert response.wsgi_request.sensitive_post_parameters == ("value",)


def test_admin_add_needs_a_value(admin_client, alice):
    response = admin_client.post(admin_url("add"), {"owner": alice.pk, "name": "NO_VALUE", "value": ""})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"value": ["This field is required."]}
    assert not Secret.objects.exists()


def test_admin_change_page_never_shows_the_value_or_ciphertext(admin_client, token):
    response = admin_client.get(admin_url("change", token.pk))

    assert response.status_code == 200
    box = value_input(response)
    assert 'type="password"' in box
    assert "value=" not in box.replace('name="value"', "")
    assert VALUE not in response.text
    assert token.ciphertext not in response.text


def test_admin_change_with_an_empty_value_keeps_it(admin_client, token):
    ciphertext = token.ciphertext

    response = admin_client.post(
        admin_url("change", token.pk), {"name": "RENAMED", "description": "Live key", "value": ""}
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.name, token.description, token.ciphertext) == ("RENAMED", "Live key", ciphertext)


def test_admin_change_with_a_value_replaces_it(admin_client, alice, token):
    response = admin_client.post(
        admin_url("change", token.pk), {"name": "API_TOKEN", "description": "", "value": "rotated", "owner": 999}
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert (decrypted(token), token.owner) == ("rotated", alice)


def test_admin_change_refuses_a_name_the_owner_already_has(admin_client, alice, token):
    other = services.secret_create(owner=alice, name="OTHER", value="other value")
    before = secrets_state()

    response = admin_client.post(admin_url("change", other.pk), {"name": "API_TOKEN", "description": "", "value": ""})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert secrets_state() == before


def test_admin_changelist_searches_by_owner(admin_client, alice, token):
    services.secret_create(owner=UserFactory(username="carol"), name="CAROLS", value="carol's")

    response = admin_client.get(admin_url("changelist"), {"q": "alice"})

    assert response.status_code == 200
    assert [str(secret) for secret in response.context["cl"].result_list] == ["API_TOKEN"]
    assert VALUE not in response.text


def test_admin_changelist_queries_do_not_grow_with_rows(admin_client, alice, django_assert_max_num_queries):
    services.secret_create(owner=alice, name="FIRST", value="first value")
    with CaptureQueriesContext(connection) as one:
        admin_client.get(admin_url("changelist"))
    for index in range(30):
        services.secret_create(owner=alice, name=f"SECRET_{index}", value=f"value number {index}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = admin_client.get(admin_url("changelist"))

    assert response.status_code == 200
