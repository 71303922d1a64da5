from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Ladder administration"
admin.site.site_title = "Ladder admin"

urlpatterns = [
    path("", include("accounts.urls")),
    path("team/", include("genealogy.urls")),
    path("orders/", include("orders.urls")),
    path("customers/", include("orders.customer_urls")),
    path("earnings/", include("commissions.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
