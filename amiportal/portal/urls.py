from django.urls import path

from amiportal.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.root_view, name="root"),
    path("healthz", views.health_view, name="health"),
    path("robots.txt", views.robots_view, name="robots"),
    path("favicon.ico", views.favicon_view, name="favicon"),
    path("home/", views.home_view, name="home"),
    path("customer/", views.customer_home_view, name="customer_home"),
    path("customer/activity/", views.customer_activity_view, name="customer_activity"),
    path("installer/", views.installer_home_view, name="installer_home"),
    path("developer/", views.developer_home_view, name="developer_home"),
    path("operator/", views.operator_home_view, name="operator_home"),
    path("operator/customers/", views.operator_customers_view, name="operator_customers"),
    path("operator/customers/<id:account_id>/", views.operator_customer_detail_view, name="operator_customer_detail"),
    path("operator/audit/", views.operator_audit_view, name="operator_audit"),
]
