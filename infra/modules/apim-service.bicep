// A new API Management instance, only when main.bicep is asked to create one (createApim).

@description('API Management service name, globally unique.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Tier. Consumption is excluded: it does not keep the long-running connections streamed completions need.')
@allowed(['Developer', 'Basic', 'Standard', 'Premium', 'BasicV2', 'StandardV2'])
param skuName string = 'Developer'

@description('Units of the tier.')
@minValue(1)
param skuCapacity int = 1

@description('E-mail of the API publisher (required by API Management).')
param publisherEmail string

@description('Name of the API publisher (required by API Management).')
param publisherName string

resource service 'Microsoft.ApiManagement/service@2023-05-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    capacity: skuCapacity
  }
  // The system-assigned identity authenticates the Event Hubs logger (and, typically, the
  // calls to Azure OpenAI).
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

output name string = service.name
output principalId string = service.identity.principalId
