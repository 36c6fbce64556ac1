// The chargeback Azure Monitor workbook (infra/monitoring/workbook.json) on Application Insights.

@description('Display name of the workbook in the portal.')
param displayName string = 'Azure OpenAI chargeback'

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource id of the Application Insights component the queries run against.')
param appInsightsId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // Workbook names must be GUIDs; this one is stable per resource group and component.
  name: guid(resourceGroup().id, appInsightsId, 'chargeback-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: loadTextContent('../monitoring/workbook.json')
  }
}

output id string = workbook.id
