"""Provider callbacks over HTTP: Payssam payments and Abillify notifications.

`register_webhooks(web_app, deps)` adds three routes to the app's aiohttp server::

    POST /webhooks/payssam?ref=…&token=…          Payssam V2 payment callback (승인동기화)
    POST /webhooks/abillify/notify?ref=…&token=…  Abillify task notification (commitInvoice's notifyUrl)
    POST /webhooks/abillify/workflow?token=…      Abillify workflow webhook (voucher state none|paid|canceled)

Providers deliver at least once, and anyone can send a request, so:

* every URL we give a provider carries a token (`bot.callback_auth`): a request without the
  right one is 401 before its body is read (Payssam's must carry our apiKey as well);
* a callback is only a reason to re-read the document from the provider; what the thread
  hears is worded from that re-read, never from the body (`bot.webhook_base`);
* a post happens once per change of the provider's state, whatever the deliveries: repeats,
  retries and forged bodies with fresh "dedup keys" all find the state unchanged.

The handlers live in `bot.webhook_payssam` and `bot.webhook_abillify`; this module names the
routes and builds the URLs given to providers.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.callback_auth import CallbackSigner
from bot.webhook_abillify import WORKFLOW_SCOPE, AbillifyCallbacks, abillify_scope
from bot.webhook_base import Notifier, WebhookDeps
from bot.webhook_payssam import PayssamCallbacks, payssam_scope

__all__ = [
    "ABILLIFY_NOTIFY_PATH",
    "ABILLIFY_WORKFLOW_PATH",
    "PAYSSAM_PATH",
    "Notifier",
    "WebhookDeps",
    "abillify_notify_url",
    "abillify_workflow_url",
    "payssam_callback_url",
    "register_webhooks",
]

PAYSSAM_PATH = "/webhooks/payssam"
ABILLIFY_NOTIFY_PATH = "/webhooks/abillify/notify"
ABILLIFY_WORKFLOW_PATH = "/webhooks/abillify/workflow"


def _url(public_url: str, path: str, query: dict[str, str]) -> str:
    return f"{public_url.rstrip('/')}{path}?{urlencode(query)}"


def payssam_callback_url(public_url: str, ref: str, signer: CallbackSigner) -> str:
    """The callbackUrl to give Payssam with the bill of document `ref`."""
    return _url(public_url, PAYSSAM_PATH, {"ref": ref, "token": signer.token(payssam_scope(ref))})


def abillify_notify_url(public_url: str, ref: str, signer: CallbackSigner) -> str:
    """The notifyUrl to give Abillify when committing the invoice of document `ref`."""
    return _url(public_url, ABILLIFY_NOTIFY_PATH, {"ref": ref, "token": signer.token(abillify_scope(ref))})


def abillify_workflow_url(public_url: str, signer: CallbackSigner) -> str:
    """The workflow webhook URL to configure on the Abillify platform (one per installation)."""
    return _url(public_url, ABILLIFY_WORKFLOW_PATH, {"token": signer.token(WORKFLOW_SCOPE)})


def register_webhooks(web_app: web.Application, deps: WebhookDeps) -> None:
    """Add the provider callback routes to the bot's aiohttp application.

    Example::

        web_app = build_web_app(bolt, health)
        register_webhooks(web_app, WebhookDeps(store=store, providers=runtime.services, notify=post_in_thread,
                                               settings=settings))
    """
    payssam = PayssamCallbacks(deps)
    abillify = AbillifyCallbacks(deps)
    web_app.router.add_post(PAYSSAM_PATH, payssam.handle)
    web_app.router.add_post(ABILLIFY_NOTIFY_PATH, abillify.notify)
    web_app.router.add_post(ABILLIFY_WORKFLOW_PATH, abillify.workflow)
