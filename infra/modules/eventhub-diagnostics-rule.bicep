// A send-only authorization rule on the Event Hubs namespace for API Management's diagnostic setting:
// Azure Monitor diagnostic settings name an Event Hubs destination by a namespace authorization rule id
// (diagnosticSettings.eventHubAuthorizationRuleId) and take no managed identity. Deployed only in the
// gateway-logs metering mode. Nothing here reads or outputs a key: only the rule's resource id.

@description('Event Hubs namespace name.')
param namespaceName string

@description('Name of the authorization rule (Send only).')
param ruleName string = 'apim-diagnostics-send'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: namespaceName
}

resource rule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: ruleName
  properties: {
    rights: ['Send']
  }
}

output ruleId string = rule.id
