from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Ladder administration"
admin.site.site_title = "Ladder admin"

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg")),
    path("", include("accounts.urls")),
    path("", include("portal.urls")),
    path("team/", include("genealogy.urls")),
    path("orders/", include("orders.urls")),
    path("customers/", include("orders.customer_urls")),
    path("earnings/", include("commissions.urls")),
    path("accounts/", include("allauth.urls")),
    path("income-disclosure/", include("portal.disclosure_urls")),
    path("compliance/", include("compliance.urls")),
    path("privacy/", include("portal.privacy_urls")),
    path("training/", include("training.urls")),
    path("messages/", include("messaging.urls")),
    path("admin/", admin.site.urls),
]
