// The gateway-logs metering mode (DESIGN.md "Metering streams without buffering"): API Management's own
// resource logs, GatewayLogs (one per request) and GatewayLlmLogs (token counts of LLM calls), sent by a
// diagnostic setting to the usage hub as Azure Monitor records; the API's Azure Monitor diagnostics at 100%
// sampling (a sampled request is an unbilled call) with language-model logging enabled.
// Sources: "Log token usage, prompts, and completions for LLM APIs" (api-management-howto-llm-logs),
// "Reference: Gateway log schema", Microsoft.ApiManagement/service/apis/diagnostics (largeLanguageModel).

@description('API Management service name (existing or just created).')
param apimName string

@description('API id whose calls are metered from the gateway logs (the API that carries policies/usage-v2-stream.xml).')
param openAiApiName string

@description('Resource id of a namespace authorization rule with Send rights (modules/eventhub-diagnostics-rule.bicep).')
param eventHubAuthorizationRuleId string

@description('Hub the records go to: the usage hub, which ingest already reads.')
param eventHubName string

resource service 'Microsoft.ApiManagement/service@2024-10-01-preview' existing = {
  name: apimName
}

// Both categories to the usage hub. Categories by name, not allLogs: other categories would only add
// records ingest skips.
resource gatewayLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: service
  name: 'chargeback-gateway-logs'
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [
      { category: 'GatewayLogs', enabled: true }
      { category: 'GatewayLlmLogs', enabled: true }
    ]
  }
}

// The built-in Azure Monitor logger API diagnostics log to.
resource azureMonitorLogger 'Microsoft.ApiManagement/service/loggers@2024-10-01-preview' = {
  parent: service
  name: 'azuremonitor'
  properties: {
    loggerType: 'azureMonitor'
    isBuffered: true
  }
}

resource openAiApi 'Microsoft.ApiManagement/service/apis@2024-10-01-preview' existing = {
  parent: service
  name: openAiApiName
}

resource apiDiagnostics 'Microsoft.ApiManagement/service/apis/diagnostics@2024-10-01-preview' = {
  parent: openAiApi
  name: 'azuremonitor'
  properties: {
    loggerId: azureMonitorLogger.id
    // every request: a request left out by sampling is a call nobody is billed for
    sampling: {
      samplingType: 'fixed'
      percentage: 100
    }
    alwaysLog: 'allErrors'
    logClientIp: false
    verbosity: 'information'
    // no request or response bodies: logging bodies buffers a stream (SSE guidance) and keeps prompts
    frontend: {
      request: { body: { bytes: 0 } }
      response: { body: { bytes: 0 } }
    }
    backend: {
      request: { body: { bytes: 0 } }
      response: { body: { bytes: 0 } }
    }
    // token counts of LLM calls (GatewayLlmLogs); prompts and completions themselves are not logged
    // (requests/responses left out): the chargeback needs only the counts
    largeLanguageModel: {
      logs: 'enabled'
    }
  }
}

output diagnosticSettingName string = gatewayLogs.name
