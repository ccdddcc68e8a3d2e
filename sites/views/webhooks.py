"""Webhook endpoints: listed for every role; added, edited, disabled, deleted and redelivered by an Admin."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import selectors
from ..forms.webhooks import EndpointForm
from ..models import WebhookDelivery, WebhookEndpoint
from ..roles import role_required
from ..services import webhooks as webhook_services


@require_GET
@role_required("view")
def webhooks(request):
    return render(request, "sites/webhooks.html", {"endpoints": selectors.webhook_endpoints()})


@never_cache  # the page that shows a new signing secret once must not be kept by any cache
@role_required("manage_webhooks")
def webhook_new(request):
    if request.method != "POST":
        return render(request, "sites/webhook_form.html", {"form": EndpointForm()})
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return render(request, "sites/webhook_form.html", {"form": form}, status=400)
    endpoint, secret = webhook_services.endpoint_create(
        kind=form.cleaned_data["kind"], url=form.cleaned_data["url"], description=form.cleaned_data["description"],
        events=form.cleaned_data["events"], enabled=form.cleaned_data["enabled"], actor=request.user,
    )
    if not secret:
        messages.success(request, f"Slack endpoint {endpoint.url_display} added.")
        return redirect("sites:webhooks")
    return render(request, "sites/webhook_secret.html", {"endpoint": endpoint, "secret": secret})


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=endpoint_id)


@require_GET
@role_required("view")
def webhook_detail(request, endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    return render(
        request, "sites/webhook.html",
        {"endpoint": endpoint, "deliveries": selectors.webhook_deliveries_for(endpoint), "shown": selectors.WEBHOOK_DELIVERIES_SHOWN},
    )


@role_required("manage_webhooks")
def webhook_edit(request, endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    initial = {"kind": endpoint.kind, "description": endpoint.description, "events": endpoint.events, "enabled": endpoint.enabled}
    if request.method != "POST":
        return render(request, "sites/webhook_form.html", {"form": EndpointForm(initial=initial, endpoint=endpoint), "endpoint": endpoint})
    form = EndpointForm(request.POST, initial=initial, endpoint=endpoint)
    if not form.is_valid():
        return render(request, "sites/webhook_form.html", {"form": form, "endpoint": endpoint}, status=400)
    webhook_services.endpoint_update(
        endpoint=endpoint, url=form.cleaned_data["url"], description=form.cleaned_data["description"],
        events=form.cleaned_data["events"], enabled=form.cleaned_data["enabled"], actor=request.user,
    )
    messages.success(request, f"Endpoint {endpoint.url_display} saved.")
    return redirect("sites:webhook", endpoint_id=endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_disable(request, endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    webhook_services.endpoint_enabled_set(endpoint=endpoint, enabled=False, actor=request.user)
    messages.success(request, f"Endpoint {endpoint.url_display} is disabled: it gets no events until enabled.")
    return redirect("sites:webhook", endpoint_id=endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_enable(request, endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    webhook_services.endpoint_enabled_set(endpoint=endpoint, enabled=True, actor=request.user)
    messages.success(request, f"Endpoint {endpoint.url_display} is enabled.")
    return redirect("sites:webhook", endpoint_id=endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_delete(request, endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    display = endpoint.url_display
    webhook_services.endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, f"Endpoint {display} and its delivery log are deleted.")
    return redirect("sites:webhooks")


@require_POST
@role_required("manage_webhooks")
def webhook_redeliver(request, delivery_id: int):
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=delivery_id)
    if webhook_services.delivery_redeliver(delivery=delivery, actor=request.user):
        messages.success(request, f"{delivery.event_type} is being sent again (same webhook-id, {delivery.message_id}).")
    else:
        messages.info(request, f"{delivery.event_type} is still being sent: wait for it to finish, then redeliver.")
    return redirect("sites:webhook", endpoint_id=delivery.endpoint_id)
