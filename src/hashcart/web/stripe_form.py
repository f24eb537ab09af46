"""The account page's card form: Stripe's own script collects the card (a card number never
reaches hashcart's pages, requests or tables) and confirms a SetupIntent.

Where the script comes from: https://js.stripe.com/v3/ (Stripe requires it be loaded from
there, https://docs.stripe.com/js/including), or `{stripe_api_base}/js.stripe.com/v3/` when
the API is elsewhere (localstripe serves its stand-in there). The page's Content-Security-
Policy lets it run and reach Stripe, as Stripe documents
(https://docs.stripe.com/security/guide#content-security-policy)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from hashcart.config import Settings

STRIPE_API = "https://api.stripe.com"
STRIPE_JS = "https://js.stripe.com/v3/"


@dataclass(frozen=True)
class StripeForm:
    publishable_key: str
    script_url: str
    # Origins the page may load the script from, talk to and frame.
    script_origins: tuple[str, ...]
    connect_origins: tuple[str, ...]
    frame_origins: tuple[str, ...]


def stripe_form(settings: Settings) -> StripeForm | None:
    """The form's settings, or None unless both keys are set."""
    secret, publishable = settings.stripe_secret_key, settings.stripe_publishable_key
    if secret is None or not secret.get_secret_value() or not publishable:
        return None
    base = settings.stripe_api_base.rstrip("/")
    if base == STRIPE_API:
        return StripeForm(
            publishable,
            STRIPE_JS,
            ("https://js.stripe.com",),
            (STRIPE_API,),
            ("https://js.stripe.com", "https://hooks.stripe.com"),
        )
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    return StripeForm(publishable, f"{base}/js.stripe.com/v3/", (origin,), (origin,), (origin,))


def with_stripe(policy: str, form: StripeForm) -> str:
    """`policy` letting the card form's script run, reach Stripe and show its frames."""
    policy = policy.replace(
        "script-src 'self'", "script-src 'self' " + " ".join(form.script_origins)
    )
    extra = f"; connect-src 'self' {' '.join(form.connect_origins)}"
    extra += f"; frame-src {' '.join(form.frame_origins)}"
    return policy + extra
