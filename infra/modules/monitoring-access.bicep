// The Function App's identity publishes telemetry to Application Insights with Entra ID
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD), so the component can refuse
// instrumentation-key-only ingestion (DisableLocalAuth). Role: Monitoring Metrics Publisher on the
// component ("Microsoft Entra authentication for Application Insights": despite its name it publishes
// all telemetry).

@description('Application Insights component name.')
param appInsightsName string

@description('Object id of the principal (a managed identity) that publishes telemetry.')
param principalId string

@description('Built-in role definition GUID to assign (Monitoring Metrics Publisher).')
param roleDefinitionId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roleDefinitionId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
