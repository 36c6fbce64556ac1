// Alert when ingest sets events aside (ChargebackDeadLetter custom events): each one is a call
// that is not billed until someone looks at it.

@description('Alert rule name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource id of the Application Insights component holding the custom events.')
param appInsightsId string

@description('Fire when more dead letters than this arrive in one window.')
@minValue(0)
param threshold int = 0

@description('Evaluation frequency and window, ISO-8601 duration.')
param windowSize string = 'PT15M'

@description('Action group resource ids to notify (e-mail, Teams...); empty = the alert only shows in the portal.')
param actionGroupIds array = []

resource deadLetterAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: name
  location: location
  tags: tags
  properties: {
    displayName: 'Chargeback dead letters'
    description: 'Usage events that ingest could not turn into records: unbilled calls. The workbook shows their reasons; the events are in the deadletters container.'
    severity: 2
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: windowSize
    windowSize: windowSize
    criteria: {
      allOf: [
        {
          query: loadTextContent('../monitoring/dead-letter-alert.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'deadLetters'
          operator: 'GreaterThan'
          threshold: threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

output id string = deadLetterAlert.id
