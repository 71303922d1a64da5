from django.urls import path

from . import views

urlpatterns = [
    path("flags/", views.flag_list, name="compliance_flags"),
    path("flags/<int:pk>/review/", views.flag_review, name="compliance_flag_review"),
]
