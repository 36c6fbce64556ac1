// Network isolation (main.bicep networkIsolation=true): a virtual network the Function App joins, and
// private endpoints for the storage account (blob, table, queue) and the Event Hubs namespace, each with
// its privatelink DNS zone linked to the network so the app resolves the services' private addresses.

@description('Virtual network name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Address space of the virtual network.')
param addressPrefix string = '10.60.0.0/16'

@description('Subnet the Function App integrates with (Flex Consumption: delegated to Microsoft.App/environments).')
param functionSubnetPrefix string = '10.60.1.0/24'

@description('Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string = '10.60.2.0/24'

@description('Resource id of the storage account.')
param storageAccountId string

@description('Resource id of the Event Hubs namespace.')
param eventHubsNamespaceId string

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: 'functions'
        properties: {
          addressPrefix: functionSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

// group id -> privatelink zone, from the Azure Private Endpoint DNS zone reference (suffixes per cloud).
var endpoints = [
  { name: 'blob', target: storageAccountId, zone: 'privatelink.blob.${environment().suffixes.storage}' }
  { name: 'table', target: storageAccountId, zone: 'privatelink.table.${environment().suffixes.storage}' }
  { name: 'queue', target: storageAccountId, zone: 'privatelink.queue.${environment().suffixes.storage}' }
  { name: 'namespace', target: eventHubsNamespaceId, zone: 'privatelink.servicebus.windows.net' }
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for endpoint in endpoints: {
    name: endpoint.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (endpoint, i) in endpoints: {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in endpoints: {
    name: 'pe-${last(split(endpoint.target, '/'))}-${endpoint.name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: vnet.properties.subnets[1].id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.name
          properties: {
            privateLinkServiceId: endpoint.target
            groupIds: [endpoint.name]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.name
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

output vnetId string = vnet.id
output functionSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
