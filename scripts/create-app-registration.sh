#!/usr/bin/env bash
# The Entra ID app registration of chargeback's HTTP routes, with its Chargeback.Admin app role.
#
#   scripts/create-app-registration.sh --function-app <functionAppName> [--name "AOAI chargeback"]
#                                      [--admin <object id of a user, group or service principal>]...
#
# Creates the registration (or reuses the one with that display name) and sets, idempotently:
#   - the browser sign-in redirect https://<functionAppName>.azurewebsites.net/.auth/login/aad/callback
#   - identifier URI api://<client id>, v2 access tokens, one delegated scope (user_impersonation) that the
#     Azure CLI is pre-authorised for, so `az account get-access-token --scope api://<client id>/.default`
#     works for scripts without a consent prompt
#   - the app role Chargeback.Admin (users, groups and applications): who may rerun months and see every
#     invoice; its id is kept across runs, so assignments survive
#   - a service principal (the enterprise application), and the role for every --admin given
# Prints the client id: export CHARGEBACK_AUTH_CLIENT_ID=<it> before deploying infra/main.bicepparam.
# Needs: az (signed in as someone who may create applications), python3.
set -euo pipefail

NAME="AOAI chargeback"
FUNCTION_APP=""
ADMINS=()
ROLE_VALUE="Chargeback.Admin"              # chargeback.owners.identity.ADMIN_ROLE
AZURE_CLI_APP_ID="04b07795-8ddb-461a-bbee-02f9e1bf7b46"   # Microsoft Azure CLI (first-party client id)
GRAPH="https://graph.microsoft.com/v1.0"

while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME="$2"; shift 2 ;;
    --function-app) FUNCTION_APP="$2"; shift 2 ;;
    --admin) ADMINS+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "create-app-registration: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$FUNCTION_APP" ]; then
  echo "create-app-registration: give --function-app <functionAppName> (the name you deploy with)" >&2
  exit 2
fi
REDIRECT="https://${FUNCTION_APP}.azurewebsites.net/.auth/login/aad/callback"

APP_ID="$(az ad app list --display-name "$NAME" --query "[0].appId" -o tsv)"
if [ -z "$APP_ID" ]; then
  APP_ID="$(az ad app create --display-name "$NAME" --sign-in-audience AzureADMyOrg \
    --enable-id-token-issuance true --web-redirect-uris "$REDIRECT" --query appId -o tsv)"
  echo "created app registration $NAME ($APP_ID)" >&2
else
  echo "reusing app registration $NAME ($APP_ID)" >&2
fi
CURRENT="$(az ad app show --id "$APP_ID" -o json)"

# One PATCH with what must be there, keeping what is (other roles, scopes, redirect URIs, ids).
BODY="$(CURRENT="$CURRENT" APP_ID="$APP_ID" REDIRECT="$REDIRECT" ROLE_VALUE="$ROLE_VALUE" python3 - <<'PY'
import json, os, uuid
app = json.loads(os.environ["CURRENT"])
app_id, role_value = os.environ["APP_ID"], os.environ["ROLE_VALUE"]
roles = app.get("appRoles") or []
if not any(r.get("value") == role_value for r in roles):
    roles.append({"id": str(uuid.uuid4()), "value": role_value, "displayName": "Chargeback admin",
                  "description": "Rerun invoicing months and see every department's invoices",
                  "allowedMemberTypes": ["User", "Application"], "isEnabled": True})
api = app.get("api") or {}
scopes = api.get("oauth2PermissionScopes") or []
if not any(s.get("value") == "user_impersonation" for s in scopes):
    scopes.append({"id": str(uuid.uuid4()), "value": "user_impersonation", "type": "User", "isEnabled": True,
                   "adminConsentDisplayName": "Use chargeback as the signed-in user",
                   "adminConsentDescription": "Read the invoices the signed-in user may see",
                   "userConsentDisplayName": "Use chargeback as you",
                   "userConsentDescription": "Read the invoices you may see"})
uris = sorted(set((app.get("identifierUris") or []) + [f"api://{app_id}"]))
redirects = sorted(set(((app.get("web") or {}).get("redirectUris") or []) + [os.environ["REDIRECT"]]))
print(json.dumps({"identifierUris": uris, "appRoles": roles, "web": {"redirectUris": redirects},
                  "api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": scopes}}))
PY
)"
OBJECT_ID="$(printf '%s' "$CURRENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
az rest --method PATCH --uri "$GRAPH/applications/$OBJECT_ID" --headers "Content-Type=application/json" \
  --body "$BODY" >/dev/null

# Pre-authorising a client needs the scope to exist first: a second PATCH.
SCOPE_ID="$(printf '%s' "$BODY" | python3 -c 'import json,sys
print(next(s["id"] for s in json.load(sys.stdin)["api"]["oauth2PermissionScopes"] if s["value"] == "user_impersonation"))')"
az rest --method PATCH --uri "$GRAPH/applications/$OBJECT_ID" --headers "Content-Type=application/json" \
  --body "{\"api\": {\"preAuthorizedApplications\": [{\"appId\": \"$AZURE_CLI_APP_ID\", \"delegatedPermissionIds\": [\"$SCOPE_ID\"]}]}}" >/dev/null

SP_ID="$(az ad sp list --filter "appId eq '$APP_ID'" --query "[0].id" -o tsv)"
if [ -z "$SP_ID" ]; then
  SP_ID="$(az ad sp create --id "$APP_ID" --query id -o tsv)"
fi
ROLE_ID="$(printf '%s' "$BODY" | ROLE_VALUE="$ROLE_VALUE" python3 -c 'import json,os,sys
print(next(r["id"] for r in json.load(sys.stdin)["appRoles"] if r["value"] == os.environ["ROLE_VALUE"]))')"

for ADMIN in "${ADMINS[@]+"${ADMINS[@]}"}"; do
  ASSIGNED="$(az rest --method GET --uri "$GRAPH/servicePrincipals/$SP_ID/appRoleAssignedTo" \
    --query "value[?principalId=='$ADMIN' && appRoleId=='$ROLE_ID'] | length(@)" -o tsv)"
  if [ "$ASSIGNED" = "0" ]; then
    az rest --method POST --uri "$GRAPH/servicePrincipals/$SP_ID/appRoleAssignedTo" \
      --headers "Content-Type=application/json" \
      --body "{\"principalId\": \"$ADMIN\", \"resourceId\": \"$SP_ID\", \"appRoleId\": \"$ROLE_ID\"}" >/dev/null
    echo "assigned $ROLE_VALUE to $ADMIN" >&2
  fi
done

echo "app role $ROLE_VALUE ($ROLE_ID) on $NAME; sign-in redirect $REDIRECT" >&2
echo "export CHARGEBACK_AUTH_CLIENT_ID=$APP_ID"
