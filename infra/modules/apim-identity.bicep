// Reads an API Management instance (new or pre-existing): its managed identity and gateway URL.

@description('API Management service name.')
param apimName string

resource service 'Microsoft.ApiManagement/service@2023-05-01-preview' existing = {
  name: apimName
}

// Empty when the instance has no system-assigned identity: main.bicep then needs
// apimIdentityPrincipalId (a user-assigned identity) instead.
output principalId string = service.identity.?principalId ?? ''
output gatewayUrl string = service.properties.gatewayUrl
