// Example parameters. Copy, fill in the three placeholders, and deploy:
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
using './main.bicep'

param namePrefix = 'chargeback'

// The app registration that signs department owners and finance in (see infra/README.md).
param authClientId = '00000000-0000-0000-0000-000000000000'

// Use the API Management instance that already fronts Azure OpenAI ...
param createApim = false
param apimName = 'apim-contoso-ai'
param apimResourceGroupName = 'rg-contoso-ai'
// ... and apply the usage policy to its imported Azure OpenAI API (empty = logger only).
param openAiApiName = 'azure-openai'
// The backend the portal's Azure OpenAI import created (empty if your API routes by service URL).
param openAiBackendId = 'azure-openai-backend'

// Or create one instead:
// param createApim = true
// param apimName = 'apim-chargeback-demo'
// param apimSku = 'Developer'
// param apimPublisherEmail = 'platform@contoso.com'
// param apimPublisherName = 'Contoso platform team'

param invoiceSchedule = '0 0 2 1 * *'

// Optional e-mail notices; the password is a Key Vault secret, never a parameter value.
param smtpHost = ''
param smtpFrom = 'chargeback@contoso.com'
// param smtpUser = 'chargeback@contoso.com'
// param smtpPasswordSecretUri = 'https://kv-contoso.vault.azure.net/secrets/smtp-password'
