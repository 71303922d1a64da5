from django.urls import path

from . import views

urlpatterns = [
    path("", views.order_list, name="orders_home"),
    path("export.csv", views.order_export, name="orders_export"),
    path("new/", views.order_new, name="order_new"),
    path("new/totals/", views.order_totals, name="order_totals"),
    path("new/products/", views.order_products, name="order_products"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/receipt/", views.order_receipt, name="order_receipt"),
    path("<int:pk>/pay/", views.order_pay_view, name="order_pay"),
    path("<int:pk>/cancel/", views.order_cancel_view, name="order_cancel"),
]
