"""Payments: the captures and voids hashcart still owes the gateways, asked again."""

from __future__ import annotations

from typing import Annotated

import typer

from hashcart.cli import app, app_of, console, print_json

payments_app = typer.Typer(
    help="Payments: captures and voids the gateway has not settled yet.", no_args_is_help=True
)
app.add_typer(payments_app, name="payments")


@payments_app.command("retry")
def payments_retry(
    ctx: typer.Context,
    restart_stopped: Annotated[
        bool,
        typer.Option(
            "--restart-stopped",
            help="Also ask again the steps (and card or customer clean-ups) that stopped "
            "after their last attempt (their attempts count from zero).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """Ask the gateways again for every capture and void that is due (what `hashcart serve`
    does every minute), under the same idempotency key: never charged twice. Also asks
    again to detach removed cards and delete deleted shoppers' provider customers."""
    from hashcart.services.payment_steps import MAX_STEP_ATTEMPTS, retry_owed_steps
    from hashcart.services.saved_cards import settle_cleanups

    hashcart = app_of(ctx)
    now = hashcart.clock.now()
    if restart_stopped:
        with hashcart.unit_of_work() as uow:
            uow.payments.restart_stopped(now)
            uow.gateway_records.restart_stopped_cleanups(now)
    outcomes = retry_owed_steps(hashcart.unit_of_work, hashcart.payment_gateways().get, now)
    cleanups = settle_cleanups(hashcart.unit_of_work, hashcart.provider_cleaners().get, now)
    if as_json:
        print_json(
            [
                {
                    "checkout_key": outcome.checkout_key,
                    "order_id": outcome.order_id,
                    "step": outcome.step,
                    "done": outcome.done,
                    "attempts": outcome.attempts,
                    "stopped": outcome.stopped,
                    "message": outcome.message,
                }
                for outcome in outcomes
            ]
            + [
                # A removed card's detachment or a deleted shopper's customer: same keys,
                # no checkout; `object` names the provider's object.
                {
                    "checkout_key": None,
                    "order_id": None,
                    "step": cleanup.cleanup.action,
                    "object": cleanup.cleanup.object_id,
                    "done": cleanup.done,
                    "attempts": cleanup.cleanup.attempts,
                    "stopped": cleanup.cleanup.stopped,
                    "message": cleanup.message,
                }
                for cleanup in cleanups
            ]
        )
        return
    for cleanup in cleanups:
        owed = cleanup.cleanup
        said = (
            "done"
            if cleanup.done
            else f"stopped after {owed.attempts} attempts: {cleanup.message}"
            if owed.stopped
            else f"not done (attempt {owed.attempts} of {MAX_STEP_ATTEMPTS}): {cleanup.message}"
        )
        console.print(
            f"{owed.action} {owed.object_id} at {owed.gateway}: {said}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for outcome in outcomes:
        what = f"{outcome.step} for " + (
            f"order #{outcome.order_id}"
            if outcome.order_id is not None
            else f"checkout {outcome.checkout_key[:8]}…"
        )
        if outcome.done:
            said = "done"
        elif outcome.stopped:
            said = f"stopped after {outcome.attempts} attempts: {outcome.message}"
        else:
            said = (
                f"not done (attempt {outcome.attempts} of {MAX_STEP_ATTEMPTS}): {outcome.message}"
            )
        console.print(f"{what}: {said}", markup=False, highlight=False, soft_wrap=True)
    done = sum(outcome.done for outcome in outcomes)
    stopped = sum(outcome.stopped for outcome in outcomes)
    console.print(
        f"{len(outcomes)} asked again: {done} done, {len(outcomes) - done - stopped} to ask "
        f"again later, {stopped} stopped.",
        markup=False,
        highlight=False,
    )
