"""The FOCUS metadata of a month with end users, tags and spill-over, written by the real run beside the export
(Azurite) and downloaded by an admin over real HTTP (`chargeback serve`)."""
from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from chargeback.config.loading import parse_config
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

from .http_site import call, served
from .test_spillover_attribution_month import CONFIG, OCTOBER

ADMIN_ROLE = ("Chargeback.Admin",)


@pytest.fixture(scope="module")
def site(azurite):
    """The spill-over month (end users ann, bob, cy; tags app and team) run once, then served."""
    from chargeback.wiring import reset_services, services
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHARGEBACK_STORAGE", azurite.connection_string)
        env.setenv("CHARGEBACK_TABLE_PREFIX", "t" + uuid.uuid4().hex[:10])
        env.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
        env.setenv("CHARGEBACK_INVOICE_ISSUER", "Contoso AI Platform")
        env.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
        reset_services()
        services().config.save(parse_config(CONFIG))
        assert ingest_lines(OCTOBER).stored == len(OCTOBER)
        host = LocalHost(retry_delay_scale=0.001)
        status = host.run_month("2026-10", timeout=120)
        assert status["runtimeStatus"] == "Completed", status.get("output")
        with served(host) as base:
            yield base, services()
        reset_services()


def stored(site) -> tuple[dict, bytes, dict]:
    _, app = site
    data = app.documents.get("exports", "2026-10/focus.csv")
    properties = app.documents.properties("exports", "2026-10/focus-metadata.json")
    return json.loads(app.documents.get("exports", "2026-10/focus-metadata.json")), data, properties


def test_the_run_writes_the_metadata_beside_the_export_with_its_header(site):
    metadata, data, properties = stored(site)
    assert properties["content_type"] == "application/json"
    header = next(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert [c["ColumnName"] for c in metadata["ColumnDefinition"]] == header
    assert (metadata["FocusVersion"], metadata["DataGenerator"]) == ("1.2", "Contoso AI Platform")
    assert metadata["data_location"] == [{"filepath": "exports/2026-10/focus.csv", "total_bytes": len(data)}]
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert {r["ProviderName"] for r in rows} == {metadata["DataGenerator"]}   # the provider generated it


def test_the_prefix_marks_every_provider_tag_and_no_user_tag(site):
    metadata, data, _ = stored(site)
    [prefix] = next(c for c in metadata["ColumnDefinition"] if c["ColumnName"] == "Tags")["ProviderTagPrefixes"]
    keys = {k for r in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")) for k in json.loads(r["Tags"])}
    # the events' tags were app=web, app=bot, team=x (user-defined); the rest the product wrote
    user = {"app", "team"}
    provider = {"chargeback/department", "chargeback/costCenter", "chargeback/endUser", "chargeback/spilledFrom"}
    assert keys == user | provider
    assert all(k.startswith(prefix) for k in provider) and not any(k.startswith(prefix) for k in user)


def test_an_admin_downloads_the_metadata_and_an_owner_may_not(site):
    base, _ = site
    metadata, _, _ = stored(site)
    answer = call(base, "/api/exports/2026-10/focus-metadata.json", "finance@example.com", ADMIN_ROLE)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.body) == metadata
    assert 'filename="chargeback-2026-10-focus-metadata.json"' in answer.headers["Content-Disposition"]
    assert call(base, "/api/exports/2026-10/focus-metadata.json", "bob@example.com").status == 403
    assert call(base, "/api/exports/2026-10/focus-metadatas.json", "finance@example.com", ADMIN_ROLE).status == 404
