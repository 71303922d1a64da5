from django.urls import path

from . import views

urlpatterns = [
    path("", views.customer_list, name="customers_home"),
    path("new/", views.customer_new, name="customer_new"),
    path("<int:pk>/", views.customer_edit, name="customer_edit"),
]
