"""/api/docs is served whole by the app, under the CSP every page has.

FastAPI's default docs page loads Swagger UI from a CDN without an integrity check and
starts it with an inline script, which needs `script-src 'unsafe-inline'`
(https://fastapi.tiangolo.com/how-to/custom-docs-ui-assets/). The browser test in
tests/e2e/test_api_docs.py shows the page working; this one checks what it is made of.
"""

from __future__ import annotations

import re

from hashcart.web.security import CONTENT_SECURITY_POLICY
from tests.web.conftest import WebShop

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_ASSET = re.compile(r'\b(?:src|href)="([^"]+)"')


def test_the_api_docs_page_has_the_normal_csp_and_only_the_apps_own_files(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    response = browser.get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in policy and "http" not in policy

    scripts = _SCRIPT.findall(response.text)
    assert scripts, "no Swagger UI script on the page"
    assert all("src=" in attributes and not body.strip() for attributes, body in scripts)

    assets = _ASSET.findall(response.text)
    assert {"js", "css"} <= {asset.rsplit(".", 1)[-1] for asset in assets}
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        fetched = browser.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.content, asset
