"""sso/tokens.py against the fake authority: its JWK Set is fetched over TLS with httpx."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import msal
import pytest

from sso.tokens import Fetch, IdTokenRefused, Jwks, httpx_fetcher, verify_id_token
from tests.support.authority import FakeAuthority, httpx_verify, msal_http_client

NONCE = "nonce-of-this-flow"


class CountingFetch:
    """The real httpx fetcher, counting the JWK Set fetches."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.calls = 0

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls += 1
        return self.fetch(url)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fetch(authority: FakeAuthority) -> CountingFetch:
    return CountingFetch(httpx_fetcher(httpx_verify(authority.ca_path), trust_env=False))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(authority: FakeAuthority, fetch: CountingFetch, clock: Clock) -> Jwks:
    return Jwks(
        authority.jwks_uri, fetch, min_refresh_seconds=30, max_age_seconds=3600, clock=clock
    )


def verify(authority: FakeAuthority, jwks: Jwks, token: str, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "jwks": jwks,
        "issuer": authority.issuer,
        "audience": authority.client_id,
        "nonce": NONCE,
        **overrides,
    }
    return verify_id_token(token, **arguments)


def refusal(authority: FakeAuthority, jwks: Jwks, token: str, **overrides: Any) -> str:
    with pytest.raises(IdTokenRefused) as refused:
        verify(authority, jwks, token, **overrides)
    assert refused.value.code == "invalid_credentials"
    return refused.value.detail


def test_good_token_returns_its_claims(authority: FakeAuthority, jwks: Jwks) -> None:
    claims = verify(authority, jwks, authority.make_id_token({"nonce": NONCE}))

    assert claims["oid"] == authority.next_sign_in["oid"]
    assert claims["email"] == "alice@example.test"
    assert claims["iss"] == authority.issuer
    assert claims["aud"] == authority.client_id


def test_wrong_issuer_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE, "iss": "https://evil.example/v2.0"})

    assert refusal(authority, jwks, token) == "wrong issuer"


def test_wrong_audience_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE, "aud": "another-app"})

    assert refusal(authority, jwks, token) == "wrong audience"


def test_several_audiences_need_this_client_as_authorized_party(
    authority: FakeAuthority, jwks: Jwks
) -> None:
    audiences = [authority.client_id, "another-app"]
    without_azp = authority.make_id_token({"nonce": NONCE, "aud": audiences})
    other_azp = authority.make_id_token({"nonce": NONCE, "aud": audiences, "azp": "another-app"})
    with_azp = authority.make_id_token(
        {"nonce": NONCE, "aud": audiences, "azp": authority.client_id}
    )

    assert refusal(authority, jwks, without_azp) == "wrong authorized party"
    assert refusal(authority, jwks, other_azp) == "wrong authorized party"
    assert verify(authority, jwks, with_azp)["azp"] == authority.client_id


def test_expired_beyond_leeway_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    now = int(time.time())
    token = authority.make_id_token({"nonce": NONCE, "iat": now - 7200, "exp": now - 121})

    assert refusal(authority, jwks, token, leeway_seconds=120) == "expired"


def test_expired_within_leeway_is_accepted(authority: FakeAuthority, jwks: Jwks) -> None:
    now = int(time.time())
    token = authority.make_id_token({"nonce": NONCE, "iat": now - 7200, "exp": now - 60})

    assert verify(authority, jwks, token, leeway_seconds=120)["exp"] == now - 60


def test_times_are_read_from_the_given_clock(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE})
    two_hours_on = time.time() + 7200

    assert refusal(authority, jwks, token, now=lambda: two_hours_on) == "expired"


def test_not_yet_valid_nbf_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE, "nbf": int(time.time()) + 600})

    assert refusal(authority, jwks, token) == "not yet valid"


def test_issued_in_the_future_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE, "iat": int(time.time()) + 600})

    assert refusal(authority, jwks, token) == "issued in the future"


@pytest.mark.parametrize("claim", ["exp", "iat", "aud", "sub"])
def test_missing_required_claim_is_refused(
    authority: FakeAuthority, jwks: Jwks, claim: str
) -> None:
    token = authority.make_id_token({"nonce": NONCE}, remove=[claim])

    assert refusal(authority, jwks, token) == f"missing claim {claim}"


@pytest.mark.parametrize("value", [None, "soon", True, [1]])
def test_non_numeric_exp_is_refused(authority: FakeAuthority, jwks: Jwks, value: object) -> None:
    # python-jose alone would raise a bare TypeError for None or a list.
    token = authority.make_id_token({"nonce": NONCE, "exp": value})

    assert refusal(authority, jwks, token) == "invalid claim exp"


def test_alg_none_is_refused_before_any_key_is_fetched(
    authority: FakeAuthority, jwks: Jwks, fetch: CountingFetch
) -> None:
    token = authority.make_id_token({"nonce": NONCE}, alg="none")

    assert refusal(authority, jwks, token) == "algorithm not allowed"
    assert fetch.calls == 0


def test_hs256_signed_with_the_public_key_is_refused_before_any_key_is_fetched(
    authority: FakeAuthority, jwks: Jwks, fetch: CountingFetch
) -> None:
    token = authority.make_id_token({"nonce": NONCE}, alg="HS256")

    assert refusal(authority, jwks, token) == "algorithm not allowed"
    assert fetch.calls == 0


def test_symmetric_algorithms_cannot_be_allowed(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE}, alg="HS256")

    with pytest.raises(ValueError, match="algorithms must be among"):
        verify(authority, jwks, token, algorithms=["RS256", "HS256"])


def test_token_without_kid_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE}, kid=None)

    assert refusal(authority, jwks, token) == "missing key id"


def test_unknown_kid_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE}, unknown_key=True)

    assert refusal(authority, jwks, token) == "unknown signing key"


def test_known_kid_with_another_keys_signature_is_refused(
    authority: FakeAuthority, jwks: Jwks
) -> None:
    token = authority.make_id_token(
        {"nonce": NONCE}, unknown_key=True, kid=authority.signing_key.kid
    )

    assert refusal(authority, jwks, token) == "bad signature"


def test_rotated_key_is_accepted_once_the_cache_refreshes(
    authority: FakeAuthority, jwks: Jwks, fetch: CountingFetch, clock: Clock
) -> None:
    verify(authority, jwks, authority.make_id_token({"nonce": NONCE}))
    clock.now += 30  # the last fetch is min_refresh_seconds old
    new_key = authority.rotate_key()

    claims = verify(authority, jwks, authority.make_id_token({"nonce": NONCE}))

    assert claims["oid"] == authority.next_sign_in["oid"]
    assert authority.signing_key is new_key
    assert fetch.calls == 2


def test_old_key_still_verifies_after_rotation(
    authority: FakeAuthority, jwks: Jwks, fetch: CountingFetch, clock: Clock
) -> None:
    old_token = authority.make_id_token({"nonce": NONCE})
    authority.rotate_key()
    verify(authority, jwks, authority.make_id_token({"nonce": NONCE}))

    assert verify(authority, jwks, old_token)["nonce"] == NONCE
    assert fetch.calls == 1


def test_a_flood_of_unknown_kids_refetches_at_most_once_per_min_refresh(
    authority: FakeAuthority, jwks: Jwks, fetch: CountingFetch, clock: Clock
) -> None:
    bogus = [authority.make_id_token({"nonce": NONCE}, kid=f"bogus-{n}") for n in range(50)]

    for token in bogus:
        assert refusal(authority, jwks, token) == "unknown signing key"
    assert fetch.calls == 1
    clock.now += 29
    for token in bogus:
        refusal(authority, jwks, token)
    assert fetch.calls == 1
    clock.now += 1
    for token in bogus:
        refusal(authority, jwks, token)
    assert fetch.calls == 2
    assert authority.hits["jwks"] == 2


def test_keys_are_refetched_when_the_cache_is_older_than_max_age(
    authority: FakeAuthority, jwks: Jwks, fetch: CountingFetch, clock: Clock
) -> None:
    token = authority.make_id_token({"nonce": NONCE})
    verify(authority, jwks, token)
    clock.now += 3599
    verify(authority, jwks, token)
    assert fetch.calls == 1

    clock.now += 1
    verify(authority, jwks, token)

    assert fetch.calls == 2


def test_dropped_key_stops_verifying_once_the_cache_expires(
    authority: FakeAuthority, jwks: Jwks, clock: Clock
) -> None:
    old_token = authority.make_id_token({"nonce": NONCE})
    verify(authority, jwks, old_token)
    authority.rotate_key(drop_old=True)
    clock.now += 3600

    assert refusal(authority, jwks, old_token) == "unknown signing key"


def test_unreachable_keys_are_reported_as_unavailable(authority: FakeAuthority) -> None:
    fetch = httpx_fetcher(httpx_verify(authority.ca_path), trust_env=False)
    jwks = Jwks(f"{authority.base_url}/no-such-keys", fetch)
    token = authority.make_id_token({"nonce": NONCE})

    detail = refusal(authority, jwks, token)

    assert detail.startswith("signing keys unavailable (HTTPStatusError")


def test_keys_in_hand_survive_a_failed_refetch(authority: FakeAuthority, clock: Clock) -> None:
    real = httpx_fetcher(httpx_verify(authority.ca_path), trust_env=False)
    failing = {"now": False}

    def fetch(url: str) -> dict[str, Any]:
        if failing["now"]:
            raise ConnectionError("provider down")
        return real(url)

    jwks = Jwks(authority.jwks_uri, fetch, clock=clock)
    token = authority.make_id_token({"nonce": NONCE})
    verify(authority, jwks, token)
    failing["now"] = True
    clock.now += 3600

    assert verify(authority, jwks, token)["nonce"] == NONCE


def test_token_of_another_flow_is_refused_by_its_nonce(
    authority: FakeAuthority, jwks: Jwks
) -> None:
    replayed = authority.make_id_token({"nonce": "nonce-of-an-earlier-flow"})

    assert refusal(authority, jwks, replayed) == "nonce mismatch"


def test_token_without_nonce_is_refused_when_one_was_sent(
    authority: FakeAuthority, jwks: Jwks
) -> None:
    token = authority.make_id_token()

    assert refusal(authority, jwks, token) == "missing nonce"
    assert "nonce" not in verify(authority, jwks, token, nonce=None)


def test_tampered_payload_is_refused(authority: FakeAuthority, jwks: Jwks) -> None:
    token = authority.make_id_token({"nonce": NONCE}, tamper=True)

    assert refusal(authority, jwks, token) == "bad signature"


@pytest.mark.parametrize(
    "token",
    ["", "not a token", "a.b", "a.b.c", "a.b.c.d.e", "bm90IGpzb24.e30.c2ln", "W10.e30.c2ln"],
)
def test_malformed_token_is_refused(authority: FakeAuthority, jwks: Jwks, token: str) -> None:
    assert refusal(authority, jwks, token) == "malformed"


def test_signed_payload_that_is_not_a_json_object_is_refused_as_malformed(
    authority: FakeAuthority, jwks: Jwks
) -> None:
    header = authority.make_id_token().split(".")[0]
    for payload in ("bm90IGpzb24", "WzFd"):  # "not json", "[1]"
        signature = authority.signing_key.sign(f"{header}.{payload}".encode())
        token = f"{header}.{payload}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"

        assert refusal(authority, jwks, token) == "malformed"


def test_id_token_from_msal_verifies_with_the_hashed_flow_nonce(
    authority: FakeAuthority, jwks: Jwks
) -> None:
    app = msal.ConfidentialClientApplication(
        authority.client_id,
        client_credential=authority.client_secret,
        authority=authority.authority,
        instance_discovery=False,
        http_client=msal_http_client(authority.ca_path),
    )
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri="https://scimd.test/sso/callback", response_mode="form_post"
    )
    result = app.acquire_token_by_auth_code_flow(flow, authority.sign_in(flow["auth_uri"]))
    # msal sends sha256_hex(flow["nonce"]) to /authorize; that is what the id_token carries.
    sent_nonce = hashlib.sha256(flow["nonce"].encode("ascii")).hexdigest()

    claims = verify(authority, jwks, result["id_token"], nonce=sent_nonce)

    assert claims["oid"] == authority.next_sign_in["oid"]
    assert refusal(authority, jwks, result["id_token"], nonce=flow["nonce"]) == "nonce mismatch"
