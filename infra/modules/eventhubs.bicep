// Event Hubs: the hub APIM logs usage events to, and the consumer group the ingest function reads.

@description('Event Hubs namespace name, globally unique.')
param namespaceName string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Hub that receives usage events (CHARGEBACK_EVENTHUB_NAME).')
param hubName string = 'usage'

@description('Consumer group of the ingest function (CHARGEBACK_EVENTHUB_CONSUMER_GROUP).')
param consumerGroupName string = 'chargeback'

@description('Throughput units (each 1 MB/s or 1000 events/s in). One is plenty for usage events.')
@minValue(1)
@maxValue(40)
param throughputUnits int = 1

@description('Partitions of the hub: the ceiling on parallel ingest instances. Fixed after creation on Standard.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Public network access: false = only through the private endpoint (network isolation); API Management must then reach it from a virtual network.')
param publicNetworkAccess bool = true

@description('Days an event stays readable: how long ingest may be down without losing events.')
@minValue(1)
@maxValue(7)
param retentionDays int = 7

// Standard, not Basic: Basic allows only the $Default consumer group.
resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    // APIM sends and the function receives with managed identities: no SAS keys at all.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess ? 'Enabled' : 'Disabled'
    isAutoInflateEnabled: false
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: retentionDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
}

output namespaceName string = namespace.name
output namespaceId string = namespace.id
output hubName string = hub.name
output consumerGroupName string = consumerGroup.name
// "<namespace>.servicebus.windows.net" in the public cloud, taken from the service so other clouds work.
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
