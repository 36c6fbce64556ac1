"""The Function App: one DFApp, telemetry, and the blueprints. Nothing else lives here."""
import azure.durable_functions as df

from chargeback.settings import settings
from chargeback.telemetry import configure_telemetry
from ingest import bp as ingest_blueprint

configure_telemetry(settings().appinsights_connection)

app = df.DFApp()  # HTTP routes set their own auth level
app.register_functions(ingest_blueprint)
