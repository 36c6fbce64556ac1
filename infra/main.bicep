// Azure OpenAI chargeback: every Azure resource of the product, in one resource group.
//
//   APIM (existing or new) --log-to-eventhub, managed identity--> Event Hubs hub "usage"
//   Function App (Flex Consumption, Python 3.11) <--consumer group "chargeback"-- hub
//   Function App --managed identity--> Storage (tables, blobs, queues) and App Insights
//
// No secret is created or passed around: storage account keys and Event Hubs SAS keys are off,
// every connection is a managed identity with a least-privilege data role. Telemetry too: the app
// sends to App Insights with its identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, Monitoring
// Metrics Publisher); the connection string only says where, and the component refuses key-only
// ingestion. networkIsolation=true adds a virtual network and private endpoints (modules/network.bicep).
// Deploy: see infra/README.md (az deployment group create ... --parameters main.bicepparam).

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- general

@description('Azure region of the new resources. Must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Short prefix of generated resource names (lowercase letters and digits).')
@minLength(2)
@maxLength(10)
param namePrefix string = 'chargeback'

@description('Tags applied to every resource.')
param tags object = {
  workload: 'aoai-chargeback'
}

var token = toLower(uniqueString(resourceGroup().id, namePrefix))

@description('Storage account name (3-24 lowercase letters and digits); generated when empty.')
param storageAccountName string = ''

@description('Function App name; generated when empty.')
param functionAppName string = ''

@description('Event Hubs namespace name; generated when empty.')
param eventHubsNamespaceName string = ''

@description('Log Analytics workspace name; generated when empty.')
param logAnalyticsName string = ''

@description('Application Insights name; generated when empty.')
param appInsightsName string = ''

var names = {
  storage: empty(storageAccountName) ? take('st${namePrefix}${token}', 24) : storageAccountName
  functionApp: empty(functionAppName) ? 'func-${namePrefix}-${token}' : functionAppName
  plan: 'plan-${namePrefix}-${token}'
  eventHubs: empty(eventHubsNamespaceName) ? 'evhns-${namePrefix}-${token}' : eventHubsNamespaceName
  logAnalytics: empty(logAnalyticsName) ? 'log-${namePrefix}-${token}' : logAnalyticsName
  appInsights: empty(appInsightsName) ? 'appi-${namePrefix}-${token}' : appInsightsName
  deploymentContainer: 'app-package'
}

// ---------------------------------------------------------------- event hubs

@description('Hub APIM logs usage events to (app setting CHARGEBACK_EVENTHUB_NAME).')
param eventHubName string = 'usage'

@description('Consumer group of the ingest function (app setting CHARGEBACK_EVENTHUB_CONSUMER_GROUP).')
param eventHubConsumerGroup string = 'chargeback'

@description('Event Hubs Standard throughput units. One (1 MB/s in) covers millions of calls a day.')
@minValue(1)
@maxValue(40)
param eventHubsThroughputUnits int = 1

@description('Partitions of the usage hub (the ceiling on parallel ingest instances).')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

// ---------------------------------------------------------------- API Management

@description('Create a new API Management instance (true) or use the existing one named apimName (false).')
param createApim bool = false

@description('Name of the API Management instance (existing, or the one to create).')
param apimName string

@description('Resource group of an existing API Management instance (empty = this one); ignored when createApim.')
param apimResourceGroupName string = resourceGroup().name

@description('Tier of a new API Management instance (not Consumption: streamed completions need long-running connections).')
@allowed(['Developer', 'Basic', 'Standard', 'Premium', 'BasicV2', 'StandardV2'])
param apimSku string = 'Developer'

@description('Publisher e-mail of a new API Management instance.')
param apimPublisherEmail string = ''

@description('Publisher name of a new API Management instance.')
param apimPublisherName string = ''

@description('Client id of a user-assigned identity of APIM for the Event Hubs logger; empty = system-assigned identity.')
param apimIdentityClientId string = ''

@description('Principal (object) id of that user-assigned identity; empty = the system-assigned identity\'s.')
param apimIdentityPrincipalId string = ''

@description('API id of the imported Azure OpenAI API in APIM; empty = create the logger only and apply the policy later.')
param openAiApiName string = ''

@description('How calls of openAiApiName are metered: policy = policies/usage-v2.xml logs every call (a streamed body is read, so API Management buffers streams); gateway-logs = policies/usage-v2-stream.xml forwards streams unbuffered and logs only non-streamed calls, streamed calls are metered from API Management\'s GatewayLogs + GatewayLlmLogs sent to the usage hub by a diagnostic setting (DESIGN.md "Metering streams without buffering").')
@allowed(['policy', 'gateway-logs'])
param usageMeteringMode string = 'policy'

@description('APIM backend id of the Azure OpenAI endpoint; when set, the policy also routes to it and authenticates with APIM\'s managed identity (what the portal\'s Azure OpenAI import puts in the API policy this template replaces).')
param openAiBackendId string = ''

// ---------------------------------------------------------------- network

@description('Network isolation: the app joins a new virtual network, storage and Event Hubs are reached through private endpoints only and refuse public traffic (API Management must then reach Event Hubs from a network; see infra/README.md).')
param networkIsolation bool = false

@description('With networkIsolation: addresses or CIDR ranges still allowed to reach storage (an operator\'s workstation for `chargeback config import`).')
param storageAllowedIpAddresses array = []

@description('With networkIsolation: address space of the new virtual network.')
param vnetAddressPrefix string = '10.60.0.0/16'

// ---------------------------------------------------------------- the Function App

@description('Entra ID application (client) id of the app registration that signs users in to the HTTP routes: a GUID (scripts/create-app-registration.sh prints it; main.bicepparam reads CHARGEBACK_AUTH_CLIENT_ID).')
@minLength(36)
@maxLength(36)
param authClientId string

@description('Further token audiences accepted by App Service authentication.')
param authAllowedAudiences array = []

@description('Key Vault secret URI of the app registration\'s client secret (browser sign-in with the code flow); empty = none (enable ID tokens on the registration instead). The app\'s identity needs Key Vault Secrets User on that vault.')
param authClientSecretUri string = ''

@description('NCRONTAB schedule (UTC) of the monthly invoicing run (CHARGEBACK_INVOICE_SCHEDULE).')
param invoiceSchedule string = '0 0 2 1 * *'

@description('Public base URL of the portal used in notification links (CHARGEBACK_PUBLIC_URL); empty = the function app\'s https host.')
param publicUrl string = ''

@description('SMTP host for invoice notices (CHARGEBACK_SMTP_HOST); empty = no e-mail settings.')
param smtpHost string = ''

@description('SMTP port (CHARGEBACK_SMTP_PORT).')
param smtpPort int = 587

@description('SMTP user name (CHARGEBACK_SMTP_USER); empty = none.')
param smtpUser string = ''

@description('Key Vault secret URI of the SMTP password (CHARGEBACK_SMTP_PASSWORD becomes a Key Vault reference); the app\'s identity needs Key Vault Secrets User on that vault.')
param smtpPasswordSecretUri string = ''

@description('Sender address of notices (CHARGEBACK_SMTP_FROM).')
param smtpFrom string = ''

@description('Key Vault secret URI of the key that signs the portal\'s Rerun form tokens (CHARGEBACK_CSRF_KEY, at least 32 characters); empty = the portal\'s Rerun form is off (admins rerun over POST /api/invoices/{month}/run). The app\'s identity needs Key Vault Secrets User on that vault.')
param csrfKeySecretUri string = ''

@description('Key Vault secret URI of the key end users are hashed with (CHARGEBACK_END_USER_HASH_KEY): set, an event\'s endUser is stored as HMAC-SHA256 under it, never raw; empty = end users stored as sent. The app\'s identity needs Key Vault Secrets User on that vault.')
param endUserHashKeySecretUri string = ''

@description('Largest number of Flex Consumption instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

// ---------------------------------------------------------------- monitoring

@description('Alert when more dead letters than this arrive in 15 minutes.')
@minValue(0)
param deadLetterAlertThreshold int = 0

@description('Action group ids the dead-letter alert notifies.')
param alertActionGroupIds array = []

// ---------------------------------------------------------------- built-in role definitions
// GUIDs from the Azure built-in roles reference (they are the same in every tenant).

var roles = {
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975' // Azure Event Hubs Data Sender
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde' // Azure Event Hubs Data Receiver
  // Owner rather than Contributor: the Functions host docs and the Flex Consumption samples ask
  // for Blob Data Owner on the host storage (AzureWebJobsStorage, the deployment package).
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
}

// ---------------------------------------------------------------- resources

module storage 'modules/storage.bicep' = {
  name: 'chargeback-storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: names.deploymentContainer
    publicNetworkAccess: !networkIsolation
    allowedIpAddresses: networkIsolation ? storageAllowedIpAddresses : []
  }
}

module eventHubs 'modules/eventhubs.bicep' = {
  name: 'chargeback-eventhubs'
  params: {
    namespaceName: names.eventHubs
    location: location
    tags: tags
    hubName: eventHubName
    consumerGroupName: eventHubConsumerGroup
    throughputUnits: eventHubsThroughputUnits
    partitionCount: eventHubPartitionCount
    publicNetworkAccess: !networkIsolation
  }
}

module network 'modules/network.bicep' = if (networkIsolation) {
  name: 'chargeback-network'
  params: {
    name: 'vnet-${namePrefix}-${token}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    functionSubnetPrefix: cidrSubnet(vnetAddressPrefix, 24, 1)
    privateEndpointSubnetPrefix: cidrSubnet(vnetAddressPrefix, 24, 2)
    storageAccountId: storage.outputs.id
    eventHubsNamespaceId: eventHubs.outputs.namespaceId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'chargeback-monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: tags
  }
}

// Optional settings are present only when configured: the app treats a missing setting as "off".
var smtpSettings = empty(smtpHost) ? {} : union(
  {
    CHARGEBACK_SMTP_HOST: smtpHost
    CHARGEBACK_SMTP_PORT: string(smtpPort)
    CHARGEBACK_SMTP_FROM: smtpFrom
  },
  empty(smtpUser) ? {} : { CHARGEBACK_SMTP_USER: smtpUser },
  empty(smtpPasswordSecretUri) ? {} : { CHARGEBACK_SMTP_PASSWORD: '@Microsoft.KeyVault(SecretUri=${smtpPasswordSecretUri})' }
)

// Keys the app signs or hashes with: Key Vault references, never values.
var keySettings = union(
  empty(csrfKeySecretUri) ? {} : { CHARGEBACK_CSRF_KEY: '@Microsoft.KeyVault(SecretUri=${csrfKeySecretUri})' },
  empty(endUserHashKeySecretUri) ? {} : { CHARGEBACK_END_USER_HASH_KEY: '@Microsoft.KeyVault(SecretUri=${endUserHashKeySecretUri})' }
)

// The platform (not the app) reads this one: App Service authentication's client secret.
var authSecretSettingName = 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
var authSettings = empty(authClientSecretUri) ? {} : {
  '${authSecretSettingName}': '@Microsoft.KeyVault(SecretUri=${authClientSecretUri})'
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'chargeback-functionapp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: names.deploymentContainer
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubs.outputs.hubName
    eventHubConsumerGroup: eventHubs.outputs.consumerGroupName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    subnetId: networkIsolation ? network.outputs.functionSubnetId : ''
    invoiceSchedule: invoiceSchedule
    publicUrl: publicUrl
    authClientId: authClientId
    authAllowedAudiences: authAllowedAudiences
    authClientSecretSettingName: empty(authClientSecretUri) ? '' : authSecretSettingName
    extraAppSettings: union(smtpSettings, authSettings, keySettings)
    maximumInstanceCount: maximumInstanceCount
  }
}

// Function App identity -> storage: blobs (host, deployment package, invoices, exports, dead
// letters), tables (usage, config, Durable Functions history), queues (Durable Functions).
module functionStorageAccess 'modules/storage-access.bicep' = {
  name: 'chargeback-function-storage-access'
  params: {
    storageAccountName: storage.outputs.name
    principalId: functionApp.outputs.principalId
    roleDefinitionIds: [
      roles.storageBlobDataOwner
      roles.storageTableDataContributor
      roles.storageQueueDataContributor
    ]
  }
}

// Function App identity -> Application Insights: publish telemetry with Entra ID.
module functionMonitoringAccess 'modules/monitoring-access.bicep' = {
  name: 'chargeback-function-monitoring-access'
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.monitoringMetricsPublisher
  }
}

// Function App identity -> the usage hub: receive only.
module functionEventHubAccess 'modules/eventhub-access.bicep' = {
  name: 'chargeback-function-eventhub-access'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    hubName: eventHubs.outputs.hubName
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.eventHubsDataReceiver
  }
}

// ---------------------------------------------------------------- API Management

var apimScope = createApim || empty(apimResourceGroupName) ? resourceGroup().name : apimResourceGroupName

module apimService 'modules/apim-service.bicep' = if (createApim) {
  name: 'chargeback-apim-service'
  params: {
    name: apimName
    location: location
    tags: tags
    skuName: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
  }
}

module apimIdentity 'modules/apim-identity.bicep' = {
  name: 'chargeback-apim-identity'
  scope: resourceGroup(apimScope)
  params: {
    apimName: apimName
  }
  dependsOn: [apimService]
}

var apimPrincipalId = empty(apimIdentityPrincipalId) ? apimIdentity.outputs.principalId : apimIdentityPrincipalId

// APIM identity -> the usage hub: send only.
module apimEventHubAccess 'modules/eventhub-access.bicep' = {
  name: 'chargeback-apim-eventhub-access'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    hubName: eventHubs.outputs.hubName
    principalId: apimPrincipalId
    roleDefinitionId: roles.eventHubsDataSender
  }
}

// The v2 policy, with the imported API's backend routing put back in at its marker.
var backendMarker = '<!-- chargeback:backend -->'
var backendPolicy = '<set-backend-service backend-id="${openAiBackendId}" />\n        <authentication-managed-identity resource="https://cognitiveservices.azure.com" />'
var gatewayLogsMode = usageMeteringMode == 'gateway-logs' && !empty(openAiApiName)
var usagePolicyXml = replace(
  gatewayLogsMode ? loadTextContent('../policies/usage-v2-stream.xml') : loadTextContent('../policies/usage-v2.xml'),
  backendMarker,
  empty(openAiBackendId) ? backendMarker : backendPolicy
)

module apimUsage 'modules/apim-usage.bicep' = {
  name: 'chargeback-apim-usage'
  scope: resourceGroup(apimScope)
  params: {
    apimName: apimName
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubs.outputs.hubName
    identityClientId: apimIdentityClientId
    openAiApiName: openAiApiName
    policyXml: usagePolicyXml
  }
  dependsOn: [apimEventHubAccess] // the logger's identity can send before the first event
}

// Gateway-logs mode: the send-only rule the diagnostic setting names, then the setting and the API's diagnostics.
module eventHubDiagnosticsRule 'modules/eventhub-diagnostics-rule.bicep' = if (gatewayLogsMode) {
  name: 'chargeback-eventhub-diagnostics-rule'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
  }
}

module apimGatewayLogs 'modules/apim-gateway-logs.bicep' = if (gatewayLogsMode) {
  name: 'chargeback-apim-gateway-logs'
  scope: resourceGroup(apimScope)
  params: {
    apimName: apimName
    openAiApiName: openAiApiName
    eventHubAuthorizationRuleId: eventHubDiagnosticsRule.outputs.ruleId
    eventHubName: eventHubs.outputs.hubName
  }
  dependsOn: [apimUsage]
}

// ---------------------------------------------------------------- workbook and alert

module workbook 'modules/workbook.bicep' = {
  name: 'chargeback-workbook'
  params: {
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.appInsightsId
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'chargeback-alerts'
  params: {
    name: 'alert-${namePrefix}-dead-letters'
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.appInsightsId
    threshold: deadLetterAlertThreshold
    actionGroupIds: alertActionGroupIds
  }
}

// ---------------------------------------------------------------- outputs (infra/README.md, next steps)

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output functionAppPrincipalId string = functionApp.outputs.principalId
output apimName string = apimName
output apimGatewayUrl string = apimIdentity.outputs.gatewayUrl
output apimLoggerId string = apimUsage.outputs.loggerName
output storageAccountName string = storage.outputs.name
output tableEndpoint string = storage.outputs.tableEndpoint
output blobEndpoint string = storage.outputs.blobEndpoint
output eventHubsNamespace string = eventHubs.outputs.namespaceName
output eventHubsFullyQualifiedNamespace string = eventHubs.outputs.fullyQualifiedNamespace
output eventHubName string = eventHubs.outputs.hubName
output appInsightsName string = monitoring.outputs.appInsightsName
output workbookId string = workbook.outputs.id
