// Wires an API Management instance to the usage hub: an azureEventHub logger that authenticates
// with a managed identity, and the v2 usage policy on the Azure OpenAI API.

@description('API Management service name (existing or just created).')
param apimName string

@description('Logger id; policies/usage-v2.xml logs to logger-id="chargeback-usage-logger".')
param loggerName string = 'chargeback-usage-logger'

@description('Event Hubs namespace host name, e.g. <namespace>.servicebus.windows.net.')
param eventHubsFullyQualifiedNamespace string

@description('Hub the logger sends to.')
param eventHubName string

@description('Client id of a user-assigned identity of API Management; empty = its system-assigned identity.')
param identityClientId string = ''

@description('API id of the imported Azure OpenAI API; empty = do not apply the policy yet.')
param openAiApiName string = ''

@description('The complete policy document (format xml).')
param policyXml string

resource service 'Microsoft.ApiManagement/service@2023-05-01-preview' existing = {
  name: apimName
}

resource logger 'Microsoft.ApiManagement/service/loggers@2023-05-01-preview' = {
  parent: service
  name: loggerName
  properties: {
    loggerType: 'azureEventHub'
    description: 'Chargeback usage events (managed identity, no connection string)'
    isBuffered: true
    credentials: {
      endpointAddress: eventHubsFullyQualifiedNamespace
      identityClientId: empty(identityClientId) ? 'SystemAssigned' : identityClientId
      name: eventHubName
    }
  }
}

resource openAiApi 'Microsoft.ApiManagement/service/apis@2023-05-01-preview' existing = if (!empty(openAiApiName)) {
  parent: service
  name: openAiApiName
}

// Replaces the API-scope policy: whatever the import put there must be in policyXml (main.bicep
// inserts the backend part at the <!-- chargeback:backend --> marker).
resource usagePolicy 'Microsoft.ApiManagement/service/apis/policies@2023-05-01-preview' = if (!empty(openAiApiName)) {
  parent: openAiApi
  name: 'policy'
  properties: {
    format: 'xml'
    value: policyXml
  }
  dependsOn: [logger] // the policy is validated against existing loggers
}

output loggerName string = logger.name
