"""infra for the gateway-logs metering mode (issue 15): the diagnostic setting with both categories to the usage
hub, the API's diagnostics at 100% sampling with language-model logs, and the mode parameter choosing the policy."""
from __future__ import annotations

from tests.unit.infra.infra_helpers import INFRA, MAIN, find, module_path, one, prop, string_value, text

MODULES = INFRA / "modules"
GATEWAY = MODULES / "apim-gateway-logs.bicep"
RULE = MODULES / "eventhub-diagnostics-rule.bicep"


def _resource(path, resource_type):
    [found] = [d for d in find(path, "resource") if d.resource_type == resource_type]
    return found


def _module(target):
    [found] = [d for d in find(MAIN, "module") if module_path(d, MAIN) == (MODULES / target).resolve()]
    return found


def test_the_mode_is_a_parameter_with_two_values_policy_by_default():
    mode = one(MAIN, "param", "usageMeteringMode")
    assert text(mode.body) == "'policy'"
    assert any("'policy'" in d and "'gateway-logs'" in d for d in mode.decorators)


def test_the_mode_chooses_the_stream_policy_and_deploys_the_logs_only_in_gateway_logs_mode():
    policy = text(one(MAIN, "var", "usagePolicyXml").body)
    assert "gatewayLogsMode ? loadTextContent('../policies/usage-v2-stream.xml')" in policy
    assert ": loadTextContent('../policies/usage-v2.xml')" in policy
    assert text(one(MAIN, "var", "gatewayLogsMode").body) == \
        "usageMeteringMode == 'gateway-logs' && !empty(openAiApiName)"
    for target in ("apim-gateway-logs.bicep", "eventhub-diagnostics-rule.bicep"):
        assert _module(target).condition is not None and "gatewayLogsMode" in _module(target).condition


def test_the_diagnostic_setting_sends_both_categories_to_the_usage_hub():
    setting = _resource(GATEWAY, "Microsoft.Insights/diagnosticSettings")
    assert text(setting.prop("scope")) == "service"
    logs = text(setting.prop("properties", "logs"))
    assert "category: 'GatewayLogs', enabled: true" in logs
    assert "category: 'GatewayLlmLogs', enabled: true" in logs
    assert text(setting.prop("properties", "eventHubName")) == "eventHubName"
    assert text(setting.prop("properties", "eventHubAuthorizationRuleId")) == "eventHubAuthorizationRuleId"
    call = _module("apim-gateway-logs.bicep")
    assert text(prop(call.body, "params", "eventHubName")) == "eventHubs.outputs.hubName"   # the hub ingest reads
    assert text(prop(call.body, "params", "eventHubAuthorizationRuleId")) == \
        "eventHubDiagnosticsRule.outputs.ruleId"


def test_the_api_diagnostics_sample_every_request_log_llm_calls_and_no_bodies():
    diagnostics = _resource(GATEWAY, "Microsoft.ApiManagement/service/apis/diagnostics")
    assert string_value(diagnostics.prop("name")) == "azuremonitor"
    assert text(diagnostics.prop("properties", "sampling", "percentage")) == "100"
    assert string_value(diagnostics.prop("properties", "sampling", "samplingType")) == "fixed"
    assert string_value(diagnostics.prop("properties", "largeLanguageModel", "logs")) == "enabled"
    for side in ("frontend", "backend"):
        for part in ("request", "response"):
            assert text(diagnostics.prop("properties", side, part, "body", "bytes")) == "0"
    assert text(diagnostics.prop("properties", "loggerId")) == "azureMonitorLogger.id"
    logger = _resource(GATEWAY, "Microsoft.ApiManagement/service/loggers")
    assert string_value(logger.prop("properties", "loggerType")) == "azureMonitor"


def test_the_authorization_rule_may_only_send_and_no_key_leaves_the_module():
    rule = _resource(RULE, "Microsoft.EventHub/namespaces/authorizationRules")
    assert text(rule.prop("properties", "rights")) == "['Send']"
    source = RULE.read_text()
    assert "listKeys" not in source and "primaryKey" not in source
    assert [d.name for d in find(RULE, "output")] == ["ruleId"]
