// Deploys as is: the values that differ per organisation come from environment variables, and a missing
// one stops `az deployment group create` before anything is created, naming the variable:
//   export CHARGEBACK_AUTH_CLIENT_ID=<app registration client id>   # scripts/create-app-registration.sh prints it
//   export CHARGEBACK_APIM_NAME=<API Management instance>           # existing, or the one to create
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
// Everything else has a default in main.bicep (infra/README.md, "Parameters"); set more here or inline (-p x=y).
using './main.bicep'

param namePrefix = readEnvironmentVariable('CHARGEBACK_NAME_PREFIX', 'chargeback')

// The app registration that signs department owners and finance in (a GUID; no default on purpose).
param authClientId = readEnvironmentVariable('CHARGEBACK_AUTH_CLIENT_ID')

// The API Management instance that fronts Azure OpenAI (no default on purpose) ...
param apimName = readEnvironmentVariable('CHARGEBACK_APIM_NAME')
// ... in this resource group unless said otherwise, or created by the template (CHARGEBACK_CREATE_APIM=true).
param apimResourceGroupName = readEnvironmentVariable('CHARGEBACK_APIM_RESOURCE_GROUP', '')
param createApim = bool(readEnvironmentVariable('CHARGEBACK_CREATE_APIM', 'false'))
param apimPublisherEmail = readEnvironmentVariable('CHARGEBACK_APIM_PUBLISHER_EMAIL', '')
param apimPublisherName = readEnvironmentVariable('CHARGEBACK_APIM_PUBLISHER_NAME', '')
// The imported Azure OpenAI API and its backend (empty = create the logger only, apply the policy later).
param openAiApiName = readEnvironmentVariable('CHARGEBACK_OPENAI_API_NAME', '')
param openAiBackendId = readEnvironmentVariable('CHARGEBACK_OPENAI_BACKEND_ID', '')

// Private endpoints for storage and Event Hubs (infra/README.md, "Network isolation").
param networkIsolation = bool(readEnvironmentVariable('CHARGEBACK_NETWORK_ISOLATION', 'false'))

// Optional e-mail notices; the password is a Key Vault secret URI, never a value.
param smtpHost = readEnvironmentVariable('CHARGEBACK_SMTP_HOST', '')
param smtpFrom = readEnvironmentVariable('CHARGEBACK_SMTP_FROM', '')

// Optional keys, as Key Vault secret URIs: the portal's Rerun form tokens, hashed end users.
param csrfKeySecretUri = readEnvironmentVariable('CHARGEBACK_CSRF_KEY_SECRET_URI', '')
param endUserHashKeySecretUri = readEnvironmentVariable('CHARGEBACK_END_USER_HASH_KEY_SECRET_URI', '')
