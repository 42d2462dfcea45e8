"""Sign-in with an OpenID Connect provider: trackflow is a relying party using the authorization
code flow with PKCE (Authlib's OAuth 2 client on requests for the authorization URL and the code exchange,
joserfc — Authlib's JOSE library — for the ID token).

The provider is found from ``<issuer>/.well-known/openid-configuration`` on first use. An ID
token is accepted only if it is signed by a key of the provider's JWKS with an algorithm the
provider announces, names this issuer and this client (``aud``, and ``azp`` when there are
several audiences), has not expired and carries the nonce this sign-in started with. The
username is one claim of it (or of the userinfo answer when the ID token leaves it out, as
providers do for the code flow).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_SECONDS = 3600.0  # discovery and JWKS are fetched again after this (key rotation)
LEEWAY_SECONDS = 60  # clock skew allowed on exp/iat
TIMEOUT_SECONDS = 10.0


class OidcError(Exception):
    """The sign-in cannot finish: the message says why, for the user (a 400 page)."""


class ProviderUnreachable(OidcError):
    """The provider did not answer or answered nonsense (a 502 page)."""


@dataclass(frozen=True)
class Start:
    """One sign-in in flight: where to send the browser, and what its callback must match."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class OidcProvider:
    """One OpenID Provider, as configured (``oidc_*`` settings). Thread-safe."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, scopes: str, username_claim: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = " ".join(dict.fromkeys(["openid", *scopes.split()]))  # openid always, once
        self.username_claim = username_claim
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    # Discovery ---------------------------------------------------------------------------
    def metadata(self, refresh: bool = False) -> dict[str, Any]:
        """The provider's discovery document (cached). ProviderUnreachable if it cannot be read
        or names another issuer."""
        with self._lock:
            if self._metadata is None or refresh or time.monotonic() - self._fetched > METADATA_SECONDS:
                found = _get_json(self.issuer + DISCOVERY_PATH)
                if found.get("issuer", "").rstrip("/") != self.issuer:
                    raise ProviderUnreachable(f"the provider's discovery document names issuer "
                                              f"{found.get('issuer')!r}, not the configured {self.issuer!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(key), str):
                        raise ProviderUnreachable(f"the provider's discovery document has no {key}")
                self._metadata, self._keys, self._fetched = found, None, time.monotonic()
            return self._metadata

    def _key_set(self, kid: str | None) -> KeySet:
        """The provider's signing keys; fetched again once when a token names an unknown key."""
        keys = self._keys
        if keys is None or (kid is not None and not any(k.kid == kid for k in keys.keys)):
            try:
                keys = KeySet.import_key_set(_get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
            except (JoseError, KeyError, TypeError, ValueError) as exc:
                raise ProviderUnreachable(f"the provider's JWKS is not a key set: {exc}") from None
            self._keys = keys
        return keys

    # The flow ----------------------------------------------------------------------------
    def _client(self, redirect_uri: str) -> OAuth2Session:
        # requests, not Authlib's httpx client: that one warns on import that it is deprecated
        return OAuth2Session(self.client_id, self.client_secret or None, scope=self.scopes, redirect_uri=redirect_uri,
                             code_challenge_method="S256", default_timeout=TIMEOUT_SECONDS,
                             token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none")

    def start(self, redirect_uri: str) -> Start:
        """A new sign-in: the provider's authorization URL with a fresh state, nonce and PKCE
        challenge (the verifier stays with the caller)."""
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(self.metadata()["authorization_endpoint"], state=state,
                                                     code_verifier=verifier, nonce=nonce)
        return Start(url, state, nonce, verifier)

    def finish(self, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the code for tokens and return the validated ID token's claims (with the
        userinfo claims added when the username claim is not in it). OidcError says why not."""
        metadata = self.metadata()
        with self._client(redirect_uri) as client:
            try:
                token = client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                           code_verifier=code_verifier)
            except AuthlibBaseError as exc:  # the provider's OAuth error answer (invalid_grant...)
                raise OidcError(f"the provider refused the sign-in code: {exc.error}"
                                + (f" ({exc.description})" if exc.description else "")) from None
            except Exception as exc:  # transport errors (requests')
                raise ProviderUnreachable(f"the provider's token endpoint failed: {exc}") from None
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise OidcError("the provider sent no ID token (is the openid scope allowed for this client?)")
            claims = self.validate_id_token(id_token, nonce)
            if self.username_claim not in claims and isinstance(metadata.get("userinfo_endpoint"), str):
                claims = {**self._userinfo(client, metadata["userinfo_endpoint"], claims["sub"]), **claims}
        return claims

    def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token that passes every check in the module's docstring."""
        algorithms = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"]
        try:
            header = extract_compact(id_token.encode()).protected
            decoded = jwt.decode(id_token, self._key_set(header.get("kid")), algorithms=algorithms)
        except JoseError as exc:
            raise OidcError(f"the ID token's signature does not verify with the provider's keys: "
                            f"{exc.description or exc.error}") from None
        claims = decoded.claims
        try:
            jwt.JWTClaimsRegistry(leeway=LEEWAY_SECONDS, iss={"essential": True, "value": self.issuer},
                                  sub={"essential": True}, exp={"essential": True},
                                  iat={"essential": True}).validate(claims)
        except JoseError as exc:
            raise OidcError(f"the ID token is not valid here: {exc.description or exc.error}") from None
        audiences = [claims.get("aud")] if isinstance(claims.get("aud"), str) else claims.get("aud")
        if not isinstance(audiences, list) or self.client_id not in audiences:
            raise OidcError(f"the ID token is for audience {claims.get('aud')!r}, not this client")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("the ID token has several audiences and is not authorized for this client (azp)")
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise OidcError("the ID token's nonce does not match this sign-in: it was issued for another one")
        return dict(claims)

    def _userinfo(self, client: OAuth2Session, url: str, sub: str) -> dict[str, Any]:
        try:
            answer = client.get(url)
            answer.raise_for_status()
            info = answer.json()
        except Exception as exc:  # transport errors, bad JSON
            raise ProviderUnreachable(f"the provider's userinfo endpoint failed: {exc}") from None
        if not isinstance(info, dict) or info.get("sub") != sub:  # OIDC Core 5.3.2: must be the same user
            raise OidcError("the provider's userinfo answer is about another subject than the ID token")
        return info

    def username(self, claims: dict[str, Any]) -> str:
        """The configured claim's value; OidcError when the provider did not send it."""
        value = claims.get(self.username_claim)
        if not isinstance(value, str) or not value:
            raise OidcError(f"the provider sent no {self.username_claim!r} claim to name the trackflow user by "
                            "(set oidc_username_claim to one it sends: preferred_username, email or sub)")
        return value


def _get_json(url: str) -> dict[str, Any]:
    try:
        answer = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=False)
        answer.raise_for_status()
        found = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable(f"cannot read {url}: {exc}") from None
    if not isinstance(found, dict):
        raise ProviderUnreachable(f"{url} did not answer a JSON object")
    return found
