// Data-plane roles for one principal on the storage account (identity-based connections).

@description('Storage account the roles are scoped to.')
param storageAccountName string

@description('Object id of the principal (a managed identity) that gets the roles.')
param principalId string

@description('Built-in role definition GUIDs to assign.')
param roleDefinitionIds array

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in roleDefinitionIds: {
    name: guid(account.id, principalId, roleId)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]
