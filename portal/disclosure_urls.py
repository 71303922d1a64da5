from django.urls import path

from . import disclosure_views

urlpatterns = [
    path("generate/", disclosure_views.income_disclosure_generate, name="disclosure_generate"),
    path("<int:year>/", disclosure_views.income_disclosure, name="disclosure_year"),
    path("<int:year>.csv", disclosure_views.income_disclosure_csv, name="disclosure_csv"),
    path("<int:year>/print/", disclosure_views.income_disclosure_print, name="disclosure_print"),
]
