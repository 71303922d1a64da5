from django.urls import path

from . import views

urlpatterns = [
    path("", views.earnings_home, name="earnings_home"),
    path("<str:period>/", views.statement_page, name="earnings_statement"),
    path("<str:period>/statement.csv", views.statement_csv, name="earnings_statement_csv"),
    path("<str:period>/lines/<int:line_id>/", views.line_detail, name="earnings_line"),
]
