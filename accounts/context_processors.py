from django.conf import settings


def ladder(request) -> dict:
    return {
        "company_name": settings.LADDER_COMPANY_NAME,
        "currency": settings.LADDER_CURRENCY,
    }
