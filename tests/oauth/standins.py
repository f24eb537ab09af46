"""Loopback stand-ins for X's and Mastodon's OAuth endpoints.

Small FastAPI apps that do what the real servers do with what we send, and refuse what they
refuse: unknown clients and wrong client secrets, a redirect_uri other than the registered
one, a PKCE verifier that does not match the challenge, a code used twice; and answer in the
documented shapes (docs.x.com oauth-2-0/user-access-token, users/me; docs.joinmastodon.org
methods/apps, methods/oauth, accounts/verify_credentials). "Signing in" there is automatic:
the test says who is signed in (`signed_in`) and whether they allow hashcart (`deny`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response


def s256(verifier: str) -> str:
    """RFC 7636 S256, written out here so the stand-in does not share our code."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    user: dict[str, str]
    scope: str
    used: bool = False


@dataclass
class Account:
    """Who is signed in at the stand-in: X {id, username, name}; Mastodon {username}."""

    fields: dict[str, str]


@dataclass
class Recorder:
    """What the stand-in saw, for the tests to check."""

    authorize_queries: list[dict[str, str]] = field(default_factory=list)
    token_forms: list[dict[str, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def _redirect(redirect_uri: str, **params: str) -> RedirectResponse:
    joiner = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(params)}", status_code=302)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


class XStandIn:
    """X's OAuth 2.0 endpoints for one confidential client."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.signed_in = {"id": "5150", "username": "ann_on_x", "name": "Ann"}
        self.deny = False
        self.grants: dict[str, Grant] = {}
        self.access: dict[str, dict[str, str]] = {}
        self.refresh: dict[str, tuple[dict[str, str], str]] = {}
        self.seen = Recorder()
        self.app = self._build()

    def _tokens(self, user: dict[str, str], scope: str) -> Response:
        """A token pair as X answers it; the refresh token only with `offline.access`."""
        access = "xat-" + secrets.token_urlsafe(24)
        self.access[access] = user
        answer = {"token_type": "bearer", "expires_in": 7200, "access_token": access}
        answer["scope"] = scope
        if "offline.access" in scope.split():
            refresh = "xrt-" + secrets.token_urlsafe(24)
            self.refresh[refresh] = (user, scope)
            answer["refresh_token"] = refresh
        return JSONResponse(answer)

    def _refreshed(self, refresh_token: str) -> Response:
        """`grant_type=refresh_token`: a new pair; X rotates, so the old refresh token is
        spent (docs.x.com oauth-2-0/user-access-token, "Step 5: POST oauth2/token - refresh
        token")."""
        found = self.refresh.pop(refresh_token, None)
        if found is None:
            self.seen.refusals.append("refresh_token")
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
                status_code=400,
            )
        return self._tokens(*found)

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/i/oauth2/authorize")
        def authorize(request: Request) -> Response:
            query = dict(request.query_params)
            self.seen.authorize_queries.append(query)
            # X checks these before showing its consent screen.
            if query.get("client_id") != self.client_id:
                return Response("Something went wrong: unknown client", status_code=400)
            if query.get("redirect_uri") != self.redirect_uri:
                return Response("Something went wrong: redirect_uri mismatch", status_code=400)
            if query.get("response_type") != "code" or query.get("code_challenge_method") not in (
                "S256",
                "plain",
            ):
                return Response("Something went wrong", status_code=400)
            state = query.get("state", "")
            if self.deny:
                return _redirect(self.redirect_uri, error="access_denied", state=state)
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                self.client_id,
                self.redirect_uri,
                query.get("code_challenge", ""),
                dict(self.signed_in),
                query.get("scope", ""),
            )
            return _redirect(self.redirect_uri, state=state, code=code)

        @app.post("/2/oauth2/token")
        async def token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.seen.token_forms.append(form)
            if _basic(request) != (self.client_id, self.client_secret):
                self.seen.refusals.append("client")
                return JSONResponse(
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                    status_code=401,
                )
            if form.get("grant_type") == "refresh_token":
                return self._refreshed(form.get("refresh_token", ""))
            grant = self.grants.get(form.get("code", ""))
            invalid = JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the authorization code was invalid.",
                },
                status_code=400,
            )
            if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
                self.seen.refusals.append("code")
                return invalid
            grant.used = True  # a code works once, whatever happens next
            if form.get("redirect_uri") != grant.redirect_uri:
                self.seen.refusals.append("redirect_uri")
                return invalid
            if s256(form.get("code_verifier", "")) != grant.challenge:
                self.seen.refusals.append("verifier")
                return invalid
            return self._tokens(grant.user, grant.scope)

        @app.get("/2/users/me")
        def users_me(request: Request) -> Response:
            user = self.access.get(_bearer(request))
            if user is None:
                return JSONResponse(
                    {
                        "title": "Unauthorized",
                        "type": "about:blank",
                        "status": 401,
                        "detail": "Unauthorized",
                    },
                    status_code=401,
                )
            return JSONResponse({"data": user})

        @app.post("/2/oauth2/revoke")
        async def revoke(request: Request) -> Response:
            if _basic(request) != (self.client_id, self.client_secret):
                return JSONResponse({"error": "unauthorized_client"}, status_code=401)
            form = await request.form()
            token = str(form.get("token", ""))
            self.seen.revoked.append(token)
            self.access.pop(token, None)
            self.refresh.pop(token, None)
            return JSONResponse({"revoked": True})

        return app


_MASTODON_DOCS = Path(__file__).parent / "mastodon_docs"


def mastodon_document(name: str) -> dict[str, Any]:
    """An answer copied from docs.joinmastodon.org (mastodon_docs/README.md says whence)."""
    found: dict[str, Any] = json.loads((_MASTODON_DOCS / f"{name}.json").read_text())
    return found


class MastodonStandIn:
    """A Mastodon server's app registration, OAuth and verify_credentials endpoints."""

    def __init__(self) -> None:
        self.base_url = ""  # set once served: account URIs live on the server's own address
        self.signed_in = "ann"
        self.deny = False
        self.apps: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, Grant] = {}
        self.access: dict[str, str] = {}
        self.account_override: dict[str, Any] | None = None
        # `GET /.well-known/oauth-authorization-server` (Mastodon 4.3+, methods/oauth.md: the
        # documented answer); None: 404, as servers before 4.3 answer.
        self.metadata: dict[str, Any] | None = mastodon_document("authorization_server_metadata")
        # The instance documents by path (methods/instance.md); a path not here answers 404.
        self.instance: dict[str, dict[str, Any]] = {
            "/api/v2/instance": mastodon_document("instance_v2")
        }
        self.seen = Recorder()
        self.app = self._build()

    def account(self, username: str) -> dict[str, Any]:
        if self.account_override is not None:
            return self.account_override
        base = self.base_url
        return {
            "id": "117020566092212359",
            "username": username,
            "acct": username,
            "display_name": "",
            "url": f"{base}/@{username}",
            "uri": f"{base}/users/{username}",
            "source": {"privacy": "public", "note": ""},
        }

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/oauth-authorization-server")
        def metadata() -> Response:
            if self.metadata is None:
                return Response("<html>The page you were looking for doesn't exist</html>", 404)
            return JSONResponse(self.metadata)

        @app.get("/api/v2/instance")
        @app.get("/api/v1/instance")
        def instance(request: Request) -> Response:
            found = self.instance.get(request.url.path)
            if found is None:
                return JSONResponse({"error": "Record not found"}, status_code=404)
            return JSONResponse(found)

        @app.post("/api/v1/apps")
        async def register(request: Request) -> Response:
            body = await request.json()
            self.seen.registrations.append(body)
            uris = body.get("redirect_uris")
            uris = [uris] if isinstance(uris, str) else uris
            if not body.get("client_name") or not uris:
                return JSONResponse({"error": "Validation failed"}, status_code=422)
            client_id = secrets.token_urlsafe(16)
            registered = {
                "id": str(len(self.apps) + 1),
                "name": body["client_name"],
                "website": body.get("website"),
                "scopes": str(body.get("scopes", "read")).split(),
                "redirect_uri": "\n".join(uris),
                "redirect_uris": uris,
                "client_id": client_id,
                "client_secret": secrets.token_urlsafe(24),
                "client_secret_expires_at": 0,
            }
            self.apps[client_id] = registered
            return JSONResponse(registered)

        @app.get("/oauth/authorize")
        def authorize(request: Request) -> Response:
            query = dict(request.query_params)
            self.seen.authorize_queries.append(query)
            registered = self.apps.get(query.get("client_id", ""))
            if registered is None or query.get("redirect_uri") not in registered["redirect_uris"]:
                return Response("The redirect uri included is not valid.", status_code=400)
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                return Response("Invalid code challenge method.", status_code=400)
            scopes = set(query.get("scope", "read").split())
            if not scopes <= set(registered["scopes"]):
                return Response("The requested scope is invalid.", status_code=400)
            redirect = query["redirect_uri"]
            if self.deny:
                return _redirect(redirect, error="access_denied", state=query.get("state", ""))
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                registered["client_id"],
                redirect,
                query["code_challenge"],
                {"username": self.signed_in},
                " ".join(sorted(scopes)),
            )
            return _redirect(redirect, code=code, state=query.get("state", ""))

        @app.post("/oauth/token")
        async def token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.seen.token_forms.append(form)
            registered = self.apps.get(form.get("client_id", ""))
            if registered is None or form.get("client_secret") != registered["client_secret"]:
                self.seen.refusals.append("client")
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed due to unknown "
                        "client, no client authentication included, or unsupported "
                        "authentication method.",
                    },
                    status_code=401,
                )
            grant = self.grants.get(form.get("code", ""))
            invalid = JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid, "
                    "expired, revoked, does not match the redirection URI used in the "
                    "authorization request, or was issued to another client.",
                },
                status_code=400,
            )
            if grant is None or grant.used or grant.client_id != registered["client_id"]:
                self.seen.refusals.append("code")
                return invalid
            grant.used = True
            if form.get("redirect_uri") != grant.redirect_uri:
                self.seen.refusals.append("redirect_uri")
                return invalid
            if s256(form.get("code_verifier", "")) != grant.challenge:
                self.seen.refusals.append("verifier")
                return invalid
            access = secrets.token_urlsafe(32)
            self.access[access] = grant.user["username"]
            return JSONResponse(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "scope": grant.scope,
                    "created_at": 1785000000,
                }
            )

        @app.get("/api/v1/accounts/verify_credentials")
        def verify_credentials(request: Request) -> Response:
            username = self.access.get(_bearer(request))
            if username is None:
                return JSONResponse({"error": "The access token is invalid"}, status_code=401)
            return JSONResponse(self.account(username))

        @app.post("/oauth/revoke")
        async def revoke(request: Request) -> Response:
            form = await request.form()
            registered = self.apps.get(str(form.get("client_id", "")))
            if registered is None or form.get("client_secret") != registered["client_secret"]:
                return JSONResponse({"error": "unauthorized_client"}, status_code=403)
            token = str(form.get("token", ""))
            self.seen.revoked.append(token)
            self.access.pop(token, None)
            return JSONResponse({})

        return app
