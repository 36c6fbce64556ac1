"""Deploying for real: telemetry with the managed identity, network isolation as a parameter, and a
parameters file that deploys without editing or stops naming what is missing."""
from __future__ import annotations

import re

from tests.unit.infra.infra_helpers import INFRA, MAIN, find, one, properties, string_value, text

MODULES = INFRA / "modules"
PARAMS = INFRA / "main.bicepparam"


def _app_settings() -> dict[str, str]:
    core = one(MODULES / "functionapp.bicep", "var", "coreSettings").body
    return {key: text(value) for key, value in properties(core).items()}


def test_the_app_sends_telemetry_with_its_identity_and_the_component_refuses_key_only_ingestion():
    assert _app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "'Authorization=AAD'"
    component = one(MODULES / "monitoring.bicep", "resource", "appInsights")
    assert text(component.prop("properties", "DisableLocalAuth")) == "disableLocalAuth"
    assert text(one(MODULES / "monitoring.bicep", "param", "disableLocalAuth").body) == "true"
    grant = one(MAIN, "module", "functionMonitoringAccess")
    assert text(grant.prop("params", "principalId")) == "functionApp.outputs.principalId"
    assert text(grant.prop("params", "roleDefinitionId")) == "roles.monitoringMetricsPublisher"
    # the comment at the top of main.bicep says what the template does
    assert "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" in MAIN.read_text().split("targetScope")[0]


def test_the_app_validates_entra_bearer_tokens_of_its_own_tenant_and_audiences():
    settings = _app_settings()
    assert settings["CHARGEBACK_ENTRA_TENANT_ID"] == "entraTenantId"
    assert "authClientId" in settings["CHARGEBACK_ENTRA_AUDIENCE"]
    assert "api://${authClientId}" in settings["CHARGEBACK_ENTRA_AUDIENCE"]
    assert text(one(MODULES / "functionapp.bicep", "param", "entraTenantId").body) == "tenant().tenantId"


def test_network_isolation_is_off_by_default_and_adds_private_endpoints_when_on():
    assert text(one(MAIN, "param", "networkIsolation").body) == "false"
    network = one(MAIN, "module", "network")
    assert network.condition == "(networkIsolation)" and network.target == "modules/network.bicep"
    endpoints = one(MODULES / "network.bicep", "var", "endpoints").body
    groups = {string_value(properties(e)["name"]) for e in endpoints.children if e.type == "object"}
    assert groups == {"blob", "table", "queue", "namespace"}   # storage's three services and Event Hubs
    zones = text(endpoints)
    for zone in ("privatelink.blob.", "privatelink.table.", "privatelink.queue.", "privatelink.servicebus.windows.net"):
        assert zone in zones
    assert {d.name for d in find(MODULES / "network.bicep", "resource")} >= \
        {"vnet", "zones", "zoneLinks", "privateEndpoints", "dnsGroups"}
    assert "Microsoft.App/environments" in text(one(MODULES / "network.bicep", "resource", "vnet").body)


def test_with_isolation_storage_and_event_hubs_refuse_public_traffic_and_the_app_joins_the_network():
    storage, hubs = one(MAIN, "module", "storage"), one(MAIN, "module", "eventHubs")
    assert text(storage.prop("params", "publicNetworkAccess")) == "!networkIsolation"
    assert text(hubs.prop("params", "publicNetworkAccess")) == "!networkIsolation"
    account = one(MODULES / "storage.bicep", "resource", "account")
    assert "'Disabled'" in text(account.prop("properties", "publicNetworkAccess"))
    assert "'Deny'" in text(account.prop("properties", "networkAcls", "defaultAction"))
    namespace = one(MODULES / "eventhubs.bicep", "resource", "namespace")
    assert "'Disabled'" in text(namespace.prop("properties", "publicNetworkAccess"))
    site = one(MODULES / "functionapp.bicep", "resource", "site")
    assert "subnetId" in text(site.prop("properties", "virtualNetworkSubnetId"))
    assert "network.outputs.functionSubnetId" in text(one(MAIN, "module", "functionApp").prop("params", "subnetId"))


def test_the_parameters_file_has_no_placeholders_and_reads_what_differs_from_the_environment():
    source = PARAMS.read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    assert "00000000-0000-0000-0000-000000000000" not in code and "contoso" not in code.lower()
    values = dict(re.findall(r"^param (\w+) = (.+)$", code, re.M))
    # the two values no default can guess: read without a fallback, so a missing variable stops the
    # deployment with Bicep's "Environment variable ... does not exist" before anything is created
    assert values["authClientId"] == "readEnvironmentVariable('CHARGEBACK_AUTH_CLIENT_ID')"
    assert values["apimName"] == "readEnvironmentVariable('CHARGEBACK_APIM_NAME')"
    for name, value in values.items():
        if name not in ("authClientId", "apimName"):
            assert re.fullmatch(r"(bool\()?readEnvironmentVariable\('CHARGEBACK_\w+', '[^']*'\)\)?", value), name


def test_an_empty_or_malformed_client_id_is_refused_by_the_template():
    decorators = one(MAIN, "param", "authClientId").decorators
    assert "@minLength(36)" in decorators and "@maxLength(36)" in decorators   # a GUID, nothing else
    scope = text(one(MAIN, "var", "apimScope").body)
    assert "empty(apimResourceGroupName)" in scope        # the parameters file's empty default is safe
