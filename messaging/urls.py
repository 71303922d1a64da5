from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("read/", views.notifications_read, name="notifications_read"),
    path("bell/", views.bell, name="bell"),
    path("preferences/", views.email_preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("announcements/<int:pk>/dismiss/", views.announcement_dismiss, name="dismiss"),
    path("send/", views.message_new, name="message_new"),
    path("sent/", views.sent_list, name="sent"),
    path("m/<int:pk>/", views.message_detail, name="message_detail"),
    path("m/<int:pk>/progress/", views.message_progress, name="message_progress"),
]
