"""infra/: the Bicep templates parse, declare every resource and least-privilege role, and agree
with the policy, the monitoring files and the app's setting names. (The Bicep CLI is not
installable here; this is what can be checked without it.)"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.unit.infra.infra_helpers import (
    BICEP_FILES,
    INFRA,
    MAIN,
    REPO,
    call_arguments,
    calls_of,
    declarations,
    find,
    guids,
    module_path,
    one,
    parse,
    prop,
    properties,
    string_value,
    syntax_problems,
    text,
)

MODULES = INFRA / "modules"
MONITORING = INFRA / "monitoring"
POLICY_V2 = REPO / "policies" / "usage-v2.xml"

# Built-in role definition ids, from the Azure built-in roles reference (same in every tenant).
EVENT_HUBS_DATA_SENDER = "2b629674-e913-4c01-ae53-ef4638d8f975"
EVENT_HUBS_DATA_RECEIVER = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

# App setting names the product reads (Azure side): nothing else may be set.
KNOWN_SETTINGS = {
    "AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri",
    "EventHubConnection", "EventHubConnection__fullyQualifiedNamespace",
    "CHARGEBACK_EVENTHUB_NAME", "CHARGEBACK_EVENTHUB_CONSUMER_GROUP", "CHARGEBACK_STORAGE",
    "CHARGEBACK_TABLE_ENDPOINT", "CHARGEBACK_BLOB_ENDPOINT", "CHARGEBACK_INVOICE_SCHEDULE",
    "CHARGEBACK_MTD_SCHEDULE",   # the month-to-date timer's schedule (orchestrations/month_to_date.py)
    "CHARGEBACK_PUBLIC_URL", "CHARGEBACK_SMTP_HOST", "CHARGEBACK_SMTP_PORT", "CHARGEBACK_SMTP_USER",
    "CHARGEBACK_SMTP_PASSWORD", "CHARGEBACK_SMTP_FROM", "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",  # read by the host and azure-monitor-opentelemetry
    "CHARGEBACK_ENTRA_TENANT_ID", "CHARGEBACK_ENTRA_AUDIENCE",
    "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET",  # read by App Service authentication, not the app
}


def types_in(path: Path) -> set[str]:
    return {d.resource_type for d in find(path, "resource")}


def resources_of_type(path: Path, resource_type: str):
    return [d for d in find(path, "resource") if d.resource_type == resource_type]


def module_calls(owner: Path, target: str):
    return [d for d in find(owner, "module") if module_path(d, owner) == (MODULES / target).resolve()]


def var_text(path: Path, expression: str) -> str:
    """An expression, with a bare variable name replaced by the variable's value."""
    names = {d.name: d for d in find(path, "var")}
    return text(names[expression].body) if expression in names else expression


def role_ids_by_name() -> dict[str, str]:
    roles = one(MAIN, "var", "roles").body
    return {key: string_value(value) for key, value in properties(roles).items()}


def resolve_roles(node) -> list[str]:
    """GUIDs a module parameter names: literals or roles.<name> references."""
    by_name = role_ids_by_name()
    refs = re.findall(r"roles\.(\w+)", text(node))
    return [by_name[r] for r in refs] + guids(node)


# ---------------------------------------------------------------- syntax and structure

@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses_without_error_or_missing_node(path):
    assert syntax_problems(parse(path.read_bytes())) == []


def test_the_syntax_check_reports_a_broken_template():
    broken = b"resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  properties: {\n"
    assert syntax_problems(parse(broken)) != []


def test_infra_has_the_main_template_and_its_modules():
    assert MAIN in BICEP_FILES
    assert len(BICEP_FILES) >= 10


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_referenced_module_exists(path):
    for decl in find(path, "module"):
        assert module_path(decl, path).is_file(), f"{path.name}: module {decl.name} -> {decl.target}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_module_calls_pass_exactly_the_parameters_modules_declare(path):
    for decl in find(path, "module"):
        target = module_path(decl, path)
        declared = {p.name: p for p in find(target, "param")}
        passed = set(properties(decl.prop("params")))
        assert passed <= set(declared), f"{decl.name}: unknown params {passed - set(declared)}"
        required = {name for name, p in declared.items() if not p.has_default}
        assert required <= passed, f"{decl.name}: missing params {required - passed}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_parameter_is_documented(path):
    for param in find(path, "param"):
        assert any(d.startswith("@description(") for d in param.decorators), f"{path.name}: {param.name}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_loaded_files_exist_relative_to_the_template(path):
    for function in ("loadTextContent", "loadJsonContent"):
        for call in calls_of(path, function):
            relative = string_value(call_arguments(call)[0])
            assert (path.parent / relative).is_file(), f"{path.name}: {function}('{relative}')"


def test_main_deploys_every_module_in_the_modules_folder():
    used = {module_path(d, MAIN) for d in find(MAIN, "module")}
    assert {p.resolve() for p in MODULES.glob("*.bicep")} == used


# ---------------------------------------------------------------- resources

def test_every_resource_type_of_the_product_is_declared():
    declared = set().union(*(types_in(p) for p in BICEP_FILES))
    assert {
        "Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Storage/storageAccounts/tableServices",
        "Microsoft.EventHub/namespaces", "Microsoft.EventHub/namespaces/eventhubs",
        "Microsoft.EventHub/namespaces/eventhubs/consumergroups",
        "Microsoft.ApiManagement/service", "Microsoft.ApiManagement/service/loggers",
        "Microsoft.ApiManagement/service/apis/policies",
        "Microsoft.OperationalInsights/workspaces", "Microsoft.Insights/components",
        "Microsoft.Web/serverfarms", "Microsoft.Web/sites", "Microsoft.Web/sites/config",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Insights/workbooks", "Microsoft.Insights/scheduledQueryRules",
    } <= declared


def test_storage_has_the_app_containers_and_no_shared_keys():
    storage = MODULES / "storage.bicep"
    account = resources_of_type(storage, "Microsoft.Storage/storageAccounts")[0]
    assert text(account.prop("properties", "allowSharedKeyAccess")) == "false"
    assert text(account.prop("properties", "allowBlobPublicAccess")) == "false"
    containers = resources_of_type(storage, "Microsoft.Storage/storageAccounts/blobServices/containers")[0]
    assert "appContainers" in containers.loop and "deploymentContainerName" in containers.loop
    names = [string_value(n) for n in one(storage, "var", "appContainers").body.children if n.type == "string"]
    assert set(names) == {"invoices", "exports", "deadletters"}


def test_event_hubs_namespace_hub_and_consumer_group():
    module = MODULES / "eventhubs.bicep"
    namespace = resources_of_type(module, "Microsoft.EventHub/namespaces")[0]
    assert string_value(namespace.prop("sku", "name")) == "Standard"  # Basic has no extra consumer groups
    assert text(namespace.prop("properties", "disableLocalAuth")) == "true"
    hub = resources_of_type(module, "Microsoft.EventHub/namespaces/eventhubs")[0]
    group = resources_of_type(module, "Microsoft.EventHub/namespaces/eventhubs/consumergroups")[0]
    assert text(hub.prop("parent")) == namespace.name and text(group.prop("parent")) == hub.name
    assert text(one(MAIN, "param", "eventHubName").body) == "'usage'"
    assert text(one(MAIN, "param", "eventHubConsumerGroup").body) == "'chargeback'"


def test_function_app_runs_python_311_on_flex_consumption_with_its_own_identity():
    module = MODULES / "functionapp.bicep"
    plan = resources_of_type(module, "Microsoft.Web/serverfarms")[0]
    sku = (string_value(plan.prop("sku", "name")), string_value(plan.prop("sku", "tier")))
    assert sku == ("FC1", "FlexConsumption")
    site = resources_of_type(module, "Microsoft.Web/sites")[0]
    assert string_value(site.prop("kind")) == "functionapp,linux"
    assert string_value(site.prop("identity", "type")) == "SystemAssigned"
    config = site.prop("properties", "functionAppConfig")
    assert string_value(prop(config, "runtime", "name")) == "python"
    assert string_value(prop(config, "runtime", "version")) == "3.11"
    assert string_value(prop(config, "deployment", "storage", "authentication", "type")) == "SystemAssignedIdentity"
    assert text(site.prop("properties", "serverFarmId")) == f"{plan.name}.id"


def setting_names() -> set[str]:
    """Every app setting name the templates set."""
    names = set(properties(one(MODULES / "functionapp.bicep", "var", "coreSettings").body))
    names.add(string_value(one(MAIN, "var", "authSecretSettingName").body))

    def walk(node):
        if node.type == "object":
            names.update(k for k in properties(node) if not k.startswith("${"))
        for child in node.children:
            walk(child)

    walk(one(MAIN, "var", "smtpSettings").body)
    walk(one(MAIN, "var", "authSettings").body)
    return names


def test_app_settings_are_identity_based_and_named_as_the_app_reads_them():
    names = setting_names()
    assert names <= KNOWN_SETTINGS, names - KNOWN_SETTINGS
    assert {
        "AzureWebJobsStorage__accountName", "EventHubConnection__fullyQualifiedNamespace",
        "CHARGEBACK_EVENTHUB_NAME", "CHARGEBACK_EVENTHUB_CONSUMER_GROUP", "CHARGEBACK_TABLE_ENDPOINT",
        "CHARGEBACK_BLOB_ENDPOINT", "CHARGEBACK_INVOICE_SCHEDULE", "CHARGEBACK_PUBLIC_URL",
        "CHARGEBACK_SMTP_HOST", "CHARGEBACK_SMTP_PORT", "CHARGEBACK_SMTP_USER", "CHARGEBACK_SMTP_PASSWORD",
        "CHARGEBACK_SMTP_FROM", "APPLICATIONINSIGHTS_CONNECTION_STRING",
    } <= names
    # a connection string with a key would defeat the managed identities
    assert "AzureWebJobsStorage" not in names and "EventHubConnection" not in names
    assert text(one(MAIN, "param", "invoiceSchedule").body) == "'0 0 2 1 * *'"


def binding_sources() -> list[Path]:
    folders = ("ingest", "orchestrations", "activities", "reports")
    return [REPO / "function_app.py", *(p for f in folders for p in (REPO / f).rglob("*.py"))]


def test_every_setting_the_function_bindings_name_is_deployed():
    names = setting_names()
    sources = [p.read_text() for p in binding_sources() if p.is_file()]
    connections = {c for s in sources for c in re.findall(r'connection\s*=\s*"(\w+)"', s)}
    percent = {n for s in sources for n in re.findall(r'"%(\w+)%"', s)}
    assert "EventHubConnection" in connections and "CHARGEBACK_EVENTHUB_NAME" in percent
    for connection in connections:  # identity-based: <name>__fullyQualifiedNamespace / __accountName ...
        assert any(n.startswith(f"{connection}__") for n in names), connection
    assert percent <= names, percent - names


def test_templates_never_read_or_pass_keys():
    for path in BICEP_FILES:
        source = path.read_text()
        for marker in ("listKeys(", "listConnectionStrings(", "AccountKey=", "SharedAccessKey", "primaryKey"):
            assert marker not in source, f"{path.name} uses {marker}"
    for secret in ("smtpSettings", "authSettings"):  # secrets are Key Vault references, never values
        assert "@Microsoft.KeyVault(SecretUri=" in text(one(MAIN, "var", secret).body)
    keys = text(one(MAIN, "var", "keySettings").body)
    for setting, uri in (("CHARGEBACK_CSRF_KEY", "csrfKeySecretUri"),
                         ("CHARGEBACK_END_USER_HASH_KEY", "endUserHashKeySecretUri")):
        assert f"{setting}: '@Microsoft.KeyVault(SecretUri=${{{uri}}})'" in keys, setting
        assert one(MAIN, "param", uri).has_default   # optional: empty leaves the feature off
    assert "keySettings" in text(one(MAIN, "module", "functionApp").prop("params", "extraAppSettings"))


def test_http_routes_are_behind_entra_id_app_service_authentication():
    module = MODULES / "functionapp.bicep"
    configs = {string_value(d.prop("name")): d for d in resources_of_type(module, "Microsoft.Web/sites/config")}
    auth = configs["authsettingsV2"]
    assert text(auth.prop("properties", "platform", "enabled")) == "true"
    assert text(auth.prop("properties", "globalValidation", "requireAuthentication")) == "true"
    aad = auth.prop("properties", "identityProviders", "azureActiveDirectory")
    assert text(prop(aad, "enabled")) == "true"
    assert "clientId: authClientId" in text(prop(aad, "registration"))
    assert "authClientId" in text(prop(aad, "validation", "allowedAudiences"))
    assert text(one(MAIN, "module", "functionApp").prop("params", "authClientId")) == "authClientId"
    assert not one(MAIN, "param", "authClientId").has_default


# ---------------------------------------------------------------- role assignments

def test_the_roles_table_holds_the_built_in_role_ids():
    assert role_ids_by_name() == {
        "eventHubsDataSender": EVENT_HUBS_DATA_SENDER,
        "eventHubsDataReceiver": EVENT_HUBS_DATA_RECEIVER,
        "storageBlobDataOwner": STORAGE_BLOB_DATA_OWNER,
        "storageTableDataContributor": STORAGE_TABLE_DATA_CONTRIBUTOR,
        "storageQueueDataContributor": STORAGE_QUEUE_DATA_CONTRIBUTOR,
        "monitoringMetricsPublisher": MONITORING_METRICS_PUBLISHER,
    }


def granted_roles() -> set[tuple[str, str, str]]:
    """(principal expression, scope, role GUID) of every role main.bicep grants."""
    grants = set()
    for call in module_calls(MAIN, "eventhub-access.bicep"):
        principal = var_text(MAIN, text(call.prop("params", "principalId")))
        for role in resolve_roles(call.prop("params", "roleDefinitionId")):
            grants.add((principal, f"hub:{text(call.prop('params', 'hubName'))}", role))
    for call in module_calls(MAIN, "storage-access.bicep"):
        principal = var_text(MAIN, text(call.prop("params", "principalId")))
        for role in resolve_roles(call.prop("params", "roleDefinitionIds")):
            grants.add((principal, f"storage:{text(call.prop('params', 'storageAccountName'))}", role))
    for call in module_calls(MAIN, "monitoring-access.bicep"):
        principal = var_text(MAIN, text(call.prop("params", "principalId")))
        for role in resolve_roles(call.prop("params", "roleDefinitionId")):
            grants.add((principal, f"appinsights:{text(call.prop('params', 'appInsightsName'))}", role))
    return grants


def test_each_identity_gets_exactly_its_least_privilege_roles():
    apim = next(p for p, _, r in granted_roles() if r == EVENT_HUBS_DATA_SENDER)
    assert "apimIdentity.outputs.principalId" in apim
    function = "functionApp.outputs.principalId"
    hub = "hub:eventHubs.outputs.hubName"
    storage = "storage:storage.outputs.name"
    assert granted_roles() == {
        (apim, hub, EVENT_HUBS_DATA_SENDER),
        (function, hub, EVENT_HUBS_DATA_RECEIVER),
        (function, storage, STORAGE_BLOB_DATA_OWNER),
        (function, storage, STORAGE_TABLE_DATA_CONTRIBUTOR),
        (function, storage, STORAGE_QUEUE_DATA_CONTRIBUTOR),
        (function, "appinsights:monitoring.outputs.appInsightsName", MONITORING_METRICS_PUBLISHER),
    }


def test_principals_come_from_the_identities_of_the_resources():
    assert text(one(MODULES / "functionapp.bicep", "output", "principalId").body) == "site.identity.principalId"
    assert "service.identity" in text(one(MODULES / "apim-identity.bicep", "output", "principalId").body)
    assert text(one(MODULES / "apim-service.bicep", "output", "principalId").body) == "service.identity.principalId"
    service = one(MODULES / "apim-service.bicep", "resource", "service")
    assert string_value(service.prop("identity", "type")) == "SystemAssigned"


@pytest.mark.parametrize(("module", "scope_type"), [
    ("eventhub-access.bicep", "Microsoft.EventHub/namespaces/eventhubs"),
    ("storage-access.bicep", "Microsoft.Storage/storageAccounts"),
    ("monitoring-access.bicep", "Microsoft.Insights/components"),
])
def test_role_modules_assign_the_given_role_to_the_given_principal_on_the_resource(module, scope_type):
    path = MODULES / module
    assignment = resources_of_type(path, "Microsoft.Authorization/roleAssignments")[0]
    scope = next(d for d in find(path, "resource") if d.name == text(assignment.prop("scope")))
    assert scope.resource_type == scope_type
    role_variable = "roleId" if assignment.loop else "roleDefinitionId"
    assert assignment.loop in (None, "roleDefinitionIds")
    assert text(assignment.prop("properties", "roleDefinitionId")) == (
        f"subscriptionResourceId('Microsoft.Authorization/roleDefinitions', {role_variable})")
    assert text(assignment.prop("properties", "principalId")) == "principalId"
    assert string_value(assignment.prop("properties", "principalType")) == "ServicePrincipal"
    name = text(assignment.prop("name"))  # deterministic, so redeploying does not duplicate it
    assert name.startswith("guid(") and "principalId" in name and role_variable in name


# ---------------------------------------------------------------- API Management

def test_apim_logger_sends_to_the_hub_with_a_managed_identity():
    module = MODULES / "apim-usage.bicep"
    logger = resources_of_type(module, "Microsoft.ApiManagement/service/loggers")[0]
    assert string_value(logger.prop("properties", "loggerType")) == "azureEventHub"
    credentials = properties(logger.prop("properties", "credentials"))
    assert set(credentials) == {"endpointAddress", "identityClientId", "name"}  # no connectionString
    assert text(credentials["name"]) == "eventHubName"
    assert text(credentials["endpointAddress"]) == "eventHubsFullyQualifiedNamespace"
    assert "'SystemAssigned'" in text(credentials["identityClientId"])
    usage = one(MAIN, "module", "apimUsage")
    assert text(usage.prop("params", "eventHubName")) == "eventHubs.outputs.hubName"


def test_logger_name_is_the_logger_id_of_the_policy():
    default = string_value(one(MODULES / "apim-usage.bicep", "param", "loggerName").body)
    policy = ET.parse(POLICY_V2)  # noqa: S314 (the repository's own policy file, not untrusted input)
    logged = {e.get("logger-id") for e in policy.getroot().iter("log-to-eventhub")}
    assert logged == {default}


def test_the_v2_policy_is_applied_to_the_azure_openai_api():
    module = MODULES / "apim-usage.bicep"
    policy = resources_of_type(module, "Microsoft.ApiManagement/service/apis/policies")[0]
    api = next(d for d in find(module, "resource") if d.name == text(policy.prop("parent")))
    assert api.resource_type == "Microsoft.ApiManagement/service/apis"
    assert string_value(policy.prop("properties", "format")) == "xml"  # entity-encoded, as the file is
    assert text(policy.prop("properties", "value")) == "policyXml"
    assert text(one(MAIN, "module", "apimUsage").prop("params", "policyXml")) == "usagePolicyXml"
    loads = [string_value(call_arguments(c)[0]) for c in calls_of(MAIN, "loadTextContent")]
    assert "../policies/usage-v2.xml" in loads
    assert "loadTextContent('../policies/usage-v2.xml')" in text(one(MAIN, "var", "usagePolicyXml").body)


def bicep_string(node) -> str:
    return string_value(node).replace("\\n", "\n").replace("\\'", "'")


def test_the_backend_routing_inserted_at_the_marker_keeps_the_policy_well_formed():
    marker = bicep_string(one(MAIN, "var", "backendMarker").body)
    source = POLICY_V2.read_text()
    assert source.count(marker) == 1
    snippet = bicep_string(one(MAIN, "var", "backendPolicy").body).replace("${openAiBackendId}", "aoai-backend")
    inbound = ET.fromstring(source.replace(marker, snippet)).find("inbound")  # noqa: S314 (our own file)
    backend = inbound.find("set-backend-service")
    assert backend is not None and backend.get("backend-id") == "aoai-backend"
    assert inbound.find("authentication-managed-identity") is not None


def test_apim_can_be_created_or_reused():
    assert one(MAIN, "module", "apimService").condition == "(createApim)"
    assert text(one(MAIN, "param", "createApim").body) == "false"
    assert not one(MAIN, "param", "apimName").has_default
    skus = next(d for d in one(MAIN, "param", "apimSku").decorators if d.startswith("@allowed"))
    assert "Consumption" not in skus.replace("FlexConsumption", "")  # no long-running connections


# ---------------------------------------------------------------- outputs and parameters file

def test_main_outputs_what_the_next_steps_need():
    outputs = {d.name for d in find(MAIN, "output")}
    assert {"functionAppName", "functionAppHostName", "apimGatewayUrl", "storageAccountName",
            "eventHubsNamespace", "eventHubName", "appInsightsName"} <= outputs


def test_the_parameters_file_uses_main_and_sets_its_required_parameters():
    source = (INFRA / "main.bicepparam").read_text()
    assert re.search(r"^using '\./main\.bicep'$", source, re.M)
    set_params = set(re.findall(r"^param (\w+) =", source, re.M))
    declared = {p.name: p for p in find(MAIN, "param")}
    assert set_params <= set(declared), set_params - set(declared)
    assert {n for n, p in declared.items() if not p.has_default} <= set_params


# ---------------------------------------------------------------- monitoring

WORKBOOK = MONITORING / "workbook.json"
ALERT_QUERY = MONITORING / "dead-letter-alert.kql"
DIMENSIONS = {"subscription", "deployment", "model", "promptTokens", "cachedTokens", "completionTokens",
              "reasoningTokens", "totalTokens", "metered", "stream", "department", "ingestLagSeconds", "reason"}


def kql_files():
    return sorted(MONITORING.glob("*.kql"))


def test_monitoring_has_the_required_queries():
    names = {p.stem for p in kql_files()}
    assert {"usage-events", "tokens-by-subscription-hourly", "tokens-by-subscription-daily", "ingestion-lag",
            "dead-letter-rate", "top-deployments", "dead-letter-alert"} <= names


@pytest.mark.parametrize("path", kql_files(), ids=lambda p: p.name)
def test_queries_read_only_the_events_and_dimensions_ingest_emits(path):
    query = path.read_text()
    assert set(re.findall(r'customDimensions\["(\w+)"\]', query)) <= DIMENSIONS
    events = set(re.findall(r'"(Chargeback\w+)"', query))
    assert events and events <= {"ChargebackUsage", "ChargebackDeadLetter"}


def test_event_names_match_the_telemetry_module():
    from chargeback import telemetry
    assert (telemetry.USAGE_EVENT, telemetry.DEAD_LETTER_EVENT) == ("ChargebackUsage", "ChargebackDeadLetter")


def test_the_workbook_shows_every_query_file_verbatim():
    workbook = json.loads(WORKBOOK.read_text())
    assert workbook["version"] == "Notebook/1.0"
    shown = [item["content"]["query"] for item in workbook["items"] if item["type"] == 3]
    expected = [p.read_text() for p in kql_files() if p != ALERT_QUERY]
    assert sorted(shown) == sorted(expected)
    for item in workbook["items"]:
        if item["type"] == 3:
            assert item["content"]["resourceType"] == "microsoft.insights/components"


def test_the_workbook_and_alert_modules_deploy_the_monitoring_files():
    workbook = resources_of_type(MODULES / "workbook.bicep", "Microsoft.Insights/workbooks")[0]
    assert text(workbook.prop("properties", "serializedData")) == "loadTextContent('../monitoring/workbook.json')"
    assert text(workbook.prop("properties", "sourceId")) == "appInsightsId"
    alert = resources_of_type(MODULES / "alerts.bicep", "Microsoft.Insights/scheduledQueryRules")[0]
    criteria = alert.prop("properties", "criteria", "allOf")
    assert "loadTextContent('../monitoring/dead-letter-alert.kql')" in text(criteria)
    assert text(alert.prop("properties", "scopes")) == "[appInsightsId]"
    assert "deadLetters" in ALERT_QUERY.read_text() and "metricMeasureColumn: 'deadLetters'" in text(criteria)
    for name in ("workbook", "alerts"):
        assert text(one(MAIN, "module", name).prop("params", "appInsightsId")) == "monitoring.outputs.appInsightsId"


def test_declarations_helper_sees_the_whole_main_template():
    kinds = {d.kind for d in declarations(MAIN)}
    assert kinds == {"param", "var", "module", "output"}
