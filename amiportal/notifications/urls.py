from django.urls import path

from amiportal.notifications import views

app_name = "notifications"

urlpatterns = [
    path("customer/notifications/", views.inbox_view, name="inbox"),
    path("customer/notifications/<id:notification_id>/read/", views.mark_read_view, name="mark_read"),
    path("customer/notifications/read-all/", views.mark_all_read_view, name="mark_all_read"),
    path("customer/notifications/history/", views.history_view, name="history"),
    path("customer/notifications/preferences/", views.preferences_view, name="preferences"),
    path("operator/notifications/", views.operator_statistics_view, name="operator_statistics"),
]
