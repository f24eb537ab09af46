"""Merchant: the shop's words (issue 14). Every message the shop sends is a template the
merchant may rewrite, and so are the emails' subjects and the emails' own words
(domain/email_templates, previewed as the email says them): the list, one message's
editor with a preview per network (its length against that network's limit, with the
longest realistic values), save, and reset to the default. A template that drops the code
or link its message needs, uses a placeholder the message does not have, or is too long
for a network is refused beside the field. Saved words apply to messages queued from then
on (texts are made when queued)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.domain.email_templates import (
    EMAIL_TEMPLATES,
    MAX_EMAIL_CHARS,
    EmailTemplate,
    check_email_template,
)
from hashcart.domain.message_previews import (
    ROOM_FOR_TITLES,
    Preview,
    ShopWords,
    check_fits,
    email_previews,
    previews,
)
from hashcart.domain.message_templates import (
    MAX_TEMPLATE_CHARS,
    PLACEHOLDERS,
    TEMPLATES,
    MessageTemplate,
    TemplateProblem,
)
from hashcart.store import message_templates
from hashcart.web.context import (
    SignedInMerchant,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    unit_of_work,
)

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

_NOTICES = {
    "saved": "Saved: messages queued from now on use your words.",
    "reset": "Back to the default words.",
}


def _shop_words(request: Request) -> ShopWords:
    settings = hashcart_of(request).effective_settings()
    return ShopWords(
        shop_name=settings.shop_name,
        account_url=settings.public_url.rstrip("/") + "/account",
        confirm_tag=(settings.confirm_tags or ("confirm",))[0],
        confirm_minutes=settings.buy_confirm_minutes,
        expiry_days=settings.pending_expiry_days,
    )


@router.get("/messages")
def messages_page(request: Request, viewer: SignedInMerchant) -> Response:
    with read_only(request) as connection:
        edited = message_templates.edited_at(connection)
    rows = [
        {"key": key, "label": spec.label, "edited_at": edited.get(key)}
        for key, spec in TEMPLATES.items()
    ]
    email_rows = [
        {"key": key, "label": spec.label, "edited_at": edited.get(key)}
        for key, spec in EMAIL_TEMPLATES.items()
    ]
    return render(
        request, "merchant/messages.html", title="Messages", rows=rows, email_rows=email_rows
    )


def _spec(key: str) -> MessageTemplate | EmailTemplate | None:
    """The message or email template `key` names; None when there is none."""
    return TEMPLATES.get(key) or EMAIL_TEMPLATES.get(key)


def _previews(request: Request, key: str, text: str) -> list[Preview]:
    """The previews of `text` as `key`'s words (TemplateProblem when it is refused)."""
    if key in EMAIL_TEMPLATES:
        return email_previews(key, text, _shop_words(request))
    # With the shop's sanitize, as sent: a trigger tag in the words loses its sign.
    return previews(key, text, _shop_words(request), hashcart_of(request).shop().sanitize)


def _checked(request: Request, key: str, text: str) -> str:
    """`text` as `key`'s words will be kept, or TemplateProblem."""
    if key in EMAIL_TEMPLATES:
        return check_email_template(key, text)
    return check_fits(key, text, _shop_words(request))


def _editor(
    request: Request,
    key: str,
    text: str,
    status_code: int = 200,
    *,
    problem: str | None = None,
    notice: str | None = None,
    edited: bool = False,
) -> Response:
    spec = _spec(key)
    assert spec is not None
    shown: list[Preview] = []
    try:
        shown = _previews(request, key, text)
    except TemplateProblem as error:
        problem = problem or _sentence(error)
        status_code = 400
    return render(
        request,
        "merchant/message.html",
        status_code,
        title=f"Message: {spec.label}",
        key=key,
        spec=spec,
        text=text,
        placeholders=[
            {"name": name, "means": PLACEHOLDERS[name], "required": name in spec.required}
            for name in spec.placeholders
        ],
        previews=shown,
        field_errors={"template": problem} if problem else {},
        notice=notice,
        edited=edited,
        max_chars=spec.limit if isinstance(spec, EmailTemplate) else MAX_TEMPLATE_CHARS,
        room=ROOM_FOR_TITLES,
        email=isinstance(spec, EmailTemplate),
        subject=isinstance(spec, EmailTemplate) and spec.is_subject,
    )


def _sentence(problem: TemplateProblem) -> str:
    message = str(problem)
    return message[:1].upper() + message[1:] + "."


def _not_found(request: Request) -> Response:
    return render(
        request, "error.html", 404, title="Not found", message="There is no such message."
    )


@router.get("/messages/{key}")
def message_page(request: Request, viewer: SignedInMerchant, key: str, done: str = "") -> Response:
    spec = _spec(key)
    if spec is None:
        return _not_found(request)
    with read_only(request) as connection:
        stored = message_templates.stored_templates(connection).get(key)
    text = stored if stored is not None else spec.default
    return _editor(request, key, text, notice=_NOTICES.get(done), edited=stored is not None)


@router.post("/messages/{key}")
def message_save(
    request: Request,
    viewer: SignedInMerchant,
    key: str,
    template: Annotated[str, Form(max_length=MAX_EMAIL_CHARS * 4)] = "",
    action: Annotated[str, Form(max_length=20)] = "save",
) -> Response:
    spec = _spec(key)
    if spec is None:
        return _not_found(request)
    with read_only(request) as connection:
        edited = key in message_templates.stored_templates(connection)
    if action == "preview":
        return _editor(request, key, template, edited=edited)
    try:
        kept = _checked(request, key, template)
    except TemplateProblem as problem:
        return _editor(request, key, template, 400, problem=_sentence(problem), edited=edited)
    with unit_of_work(request) as connection:
        if kept == spec.default:
            message_templates.reset_template(connection, key)
        else:
            message_templates.save_template(connection, key, kept, hashcart_of(request).clock.now())
    return RedirectResponse(f"/merchant/messages/{key}?done=saved", 303)


@router.post("/messages/{key}/reset")
def message_reset(request: Request, viewer: SignedInMerchant, key: str) -> Response:
    if _spec(key) is None:
        return _not_found(request)
    with unit_of_work(request) as connection:
        message_templates.reset_template(connection, key)
    return RedirectResponse(f"/merchant/messages/{key}?done=reset", 303)
