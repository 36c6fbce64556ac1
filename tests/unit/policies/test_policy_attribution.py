"""The v2 policy's attribution (endUser, tags) and spill-over (servedDeployment) fields, run under mono."""
from __future__ import annotations

from chargeback.usage.events import RawEvent, parse_event
from tests.unit.policies.harness import event_of, scenario

HEADERS = {"Content-Type": "application/json", "api-key": "0123456789abcdef0123456789abcdef"}
CONFIGURED = {"chargeback-end-user-header": "x-end-user", "chargeback-tags-header": "x-chargeback-tags"}


def _request(headers: dict) -> dict:
    return {"headers": {**HEADERS, **headers}}


def test_unconfigured_attribution_sends_nulls_even_when_headers_are_there(policy_runner):
    (result,) = policy_runner(scenario(request=_request({"x-end-user": "alice", "x-chargeback-tags": "app=chat"})))
    event = event_of(result)
    assert (event["endUser"], event["tags"], event["servedDeployment"]) == (None, None, None)


def test_end_user_and_tags_from_the_configured_headers(policy_runner):
    tags = " App=chat-web , project=apollo,noequals,=x,1bad=x,team=two words,app=again,long=" + "v" * 65
    (result,) = policy_runner(scenario(variables=CONFIGURED,
                                       request=_request({"x-end-user": " alice@contoso.com ",
                                                         "x-chargeback-tags": tags})))
    event = event_of(result)
    assert event["endUser"] == "alice@contoso.com"
    # kept: app (lower-cased key), project; dropped: no '=', empty key, key not starting with a letter, a space
    # in the value, a repeated key, a value of 65 characters
    assert event["tags"] == ["app=chat-web", "project=apollo"]
    record = parse_event(RawEvent(result["event"].encode()))
    assert (record.end_user, record.tags) == ("alice@contoso.com", ("app=chat-web", "project=apollo"))


def test_at_most_eight_tags_and_an_overlong_end_user_is_left_out(policy_runner):
    tags = ",".join(f"k{n}=v{n}" for n in range(10))
    (result,) = policy_runner(scenario(variables=CONFIGURED,
                                       request=_request({"x-end-user": "u" * 129, "x-chargeback-tags": tags})))
    event = event_of(result)
    assert event["endUser"] is None
    assert event["tags"] == [f"k{n}=v{n}" for n in range(8)]


def test_end_user_from_a_claim_of_the_validated_token_and_never_the_header(policy_runner):
    variables = {**CONFIGURED, "chargeback-end-user-claim": "oid"}
    claims = {"oid": "5b7c1d2e-0000-4000-8000-00000000abcd", "upn": "alice@contoso.com"}
    with_token, without_token = policy_runner(
        scenario(variables=variables, jwtClaims=claims, request=_request({"x-end-user": "mallory"})),
        scenario(variables=variables, request=_request({"x-end-user": "mallory"})))
    assert event_of(with_token)["endUser"] == "5b7c1d2e-0000-4000-8000-00000000abcd"
    # a claim is configured but no validated token: the caller's header is not trusted in its place
    assert event_of(without_token)["endUser"] is None


def test_a_spilled_response_names_the_deployment_that_served_it(policy_runner):
    spilled = {"Content-Type": "application/json", "x-ms-deployment-name": "gpt-4o-paygo",
               "x-ms-spillover-from-deployment": "gpt-4o", "x-ms-spillover-error": "429"}
    same = {"Content-Type": "application/json", "x-ms-deployment-name": "GPT-4o"}
    served, not_spilled = policy_runner(scenario(response={"headers": spilled}), scenario(response={"headers": same}))
    event = event_of(served)
    assert (event["deploymentId"], event["servedDeployment"]) == ("gpt-4o", "gpt-4o-paygo")
    assert parse_event(RawEvent(served["event"].encode())).priced_deployment == "gpt-4o-paygo"
    assert event_of(not_spilled)["servedDeployment"] is None


def test_the_served_deployment_header_name_is_configurable(policy_runner):
    headers = {"Content-Type": "application/json", "x-ms-deployment-name": "gpt-4o-paygo", "x-served": "other"}
    (result,) = policy_runner(scenario(variables={"chargeback-served-deployment-header": "x-served"},
                                       response={"headers": headers}))
    assert event_of(result)["servedDeployment"] == "other"
