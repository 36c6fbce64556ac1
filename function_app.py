"""The Function App: one DFApp, telemetry, and the blueprints. Nothing else lives here."""
import azure.durable_functions as df

from activities import bp as activities_blueprint
from chargeback.settings import settings
from chargeback.telemetry import configure_telemetry
from ingest import bp as ingest_blueprint
from orchestrations import month_to_date_bp, monthly_bp, starters_bp
from reports import bp as reports_blueprint
from reports.portal_rerun import bp as portal_rerun_blueprint

configure_telemetry(settings().appinsights_connection)

app = df.DFApp()  # HTTP routes set their own auth level
for blueprint in (ingest_blueprint, monthly_bp, month_to_date_bp, starters_bp, activities_blueprint, reports_blueprint,
                  portal_rerun_blueprint):
    app.register_functions(blueprint)
