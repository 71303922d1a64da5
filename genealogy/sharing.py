"""A distributor's referral link and its QR code (the profile and team pages' share card)."""

from __future__ import annotations

import functools
import io

import qrcode
import qrcode.image.svg
from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import mark_safe

from .models import Distributor


def referral_link(request: HttpRequest, distributor: Distributor) -> str:
    return request.build_absolute_uri(reverse("join", args=[distributor.referral_code]))


@functools.lru_cache(maxsize=4096)
def qr_svg(data: str) -> str:
    """The QR code of a link as inline SVG (pure Python, so cached: links rarely change)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]


def share_card_context(request: HttpRequest, distributor: Distributor) -> dict:
    link = referral_link(request, distributor)
    return {"share_link": link, "share_qr": mark_safe(qr_svg(link))}  # noqa: S308 - our own SVG
