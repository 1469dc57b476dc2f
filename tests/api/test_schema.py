import json

from django.core.management import call_command


def test_the_openapi_schema_generates_without_warnings(tmp_path, db):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    schema = json.loads(out.read_text())
    assert "/api/v1/social-accounts/" in schema["paths"]
    assert "/api/v1/account-groups/{id}/" in schema["paths"]
    assert "ApiKeyAuth" in schema["components"]["securitySchemes"]


def test_swagger_ui_is_served_without_a_cdn(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    for cdn in ("cdn.", "unpkg", "jsdelivr"):
        assert cdn not in page
