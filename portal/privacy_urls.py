from django.urls import path

from . import privacy_views

urlpatterns = [
    path("", privacy_views.privacy_home, name="privacy_home"),
    path("export/", privacy_views.privacy_export, name="privacy_export"),
    path("erasure/", privacy_views.privacy_erasure_request, name="privacy_erasure_request"),
]
