// One data-plane role for one principal, scoped to a single hub (not the namespace): least privilege.

@description('Event Hubs namespace of the hub.')
param namespaceName string

@description('Hub the role is scoped to.')
param hubName string

@description('Object id of the principal (a managed identity) that gets the role.')
param principalId string

@description('Built-in role definition GUID (Azure Event Hubs Data Sender or Data Receiver).')
param roleDefinitionId string

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: namespaceName
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  parent: namespace
  name: hubName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, principalId, roleDefinitionId)
  scope: hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
