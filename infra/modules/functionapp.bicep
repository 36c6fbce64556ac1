// The chargeback Function App on Flex Consumption: Python 3.11, system-assigned identity,
// identity-based connections only, and App Service authentication (Entra ID) for the HTTP routes.

@description('Function App name, globally unique (it becomes <name>.azurewebsites.net).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Storage account of the app and the Functions host.')
param storageAccountName string

@description('Blob endpoint of that account, e.g. https://<account>.blob.core.windows.net/.')
param blobEndpoint string

@description('Table endpoint of that account, e.g. https://<account>.table.core.windows.net/.')
param tableEndpoint string

@description('Container holding the deployment package.')
param deploymentContainerName string

@description('Event Hubs namespace host name, e.g. <namespace>.servicebus.windows.net.')
param eventHubsFullyQualifiedNamespace string

@description('Hub the ingest trigger reads.')
param eventHubName string

@description('Consumer group the ingest trigger reads.')
param eventHubConsumerGroup string

@description('Application Insights connection string (where to send; the managed identity authenticates).')
param appInsightsConnectionString string

@description('Subnet the app integrates with (network isolation); empty = none.')
param subnetId string = ''

@description('Tenant whose Entra bearer tokens the owners\' routes validate (CHARGEBACK_ENTRA_TENANT_ID).')
param entraTenantId string = tenant().tenantId

@description('NCRONTAB schedule (UTC) of the monthly invoicing run.')
param invoiceSchedule string

@description('Public base URL put in notification links; empty = https://<default host name>.')
param publicUrl string = ''

@description('Entra ID application (client) id that App Service authentication validates tokens for.')
param authClientId string

@description('Audiences accepted besides the client id and api://<client id>.')
param authAllowedAudiences array = []

@description('App setting holding the app registration\'s client secret (browser sign-in with the code flow); empty = none.')
param authClientSecretSettingName string = ''

@description('Extra app settings (SMTP and the like), merged last.')
param extraAppSettings object = {}

@description('Largest number of instances Flex Consumption may scale to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Flex Consumption takes the runtime from functionAppConfig: FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION must not be set. Every connection is identity-based.
var coreSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  EventHubConnection__fullyQualifiedNamespace: eventHubsFullyQualifiedNamespace
  CHARGEBACK_EVENTHUB_NAME: eventHubName
  CHARGEBACK_EVENTHUB_CONSUMER_GROUP: eventHubConsumerGroup
  CHARGEBACK_TABLE_ENDPOINT: tableEndpoint
  CHARGEBACK_BLOB_ENDPOINT: blobEndpoint
  CHARGEBACK_INVOICE_SCHEDULE: invoiceSchedule
  CHARGEBACK_MTD_SCHEDULE: '0 5 * * * *'   // month to date, hourly at :05 (orchestrations/month_to_date.py)
  CHARGEBACK_PUBLIC_URL: empty(publicUrl) ? 'https://${site.properties.defaultHostName}' : publicUrl
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  // The Functions host and the Python exporter (azure-monitor-opentelemetry) both read this and then
  // authenticate with the system-assigned identity (Monitoring Metrics Publisher on the component).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  // Scripts may call the owners' routes with an access token for the app registration; the app checks it.
  CHARGEBACK_ENTRA_TENANT_ID: entraTenantId
  CHARGEBACK_ENTRA_AUDIENCE: join(concat([authClientId, 'api://${authClientId}'], authAllowedAudiences), ',')
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(coreSettings, extraAppSettings)
}

// App Service authentication sets X-MS-CLIENT-PRINCIPAL, which the HTTP functions trust only
// when the platform says authentication is on. Browsers are sent to sign in (the portal page);
// API callers present a bearer token for the app registration.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  dependsOn: [appSettings] // two config writes to one site at once can conflict
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: union(
          {
            openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
            clientId: authClientId
          },
          empty(authClientSecretSettingName) ? {} : { clientSecretSettingName: authClientSecretSettingName }
        )
        validation: {
          allowedAudiences: concat([authClientId, 'api://${authClientId}'], authAllowedAudiences)
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
output principalId string = site.identity.principalId
