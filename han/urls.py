from django.urls import path

from han import views

app_name = "han"

urlpatterns = [
    path("installer/", views.installer_work_orders_view, name="installer_work_orders"),
    path("installer/work-orders/<id:work_order_id>/", views.installer_work_order_view, name="installer_work_order"),
    path(
        "installer/work-orders/<id:work_order_id>/devices/<uuid:device_uid>/retry/",
        views.installer_device_retry_view,
        name="installer_device_retry",
    ),
    path(
        "installer/work-orders/<id:work_order_id>/devices/<uuid:device_uid>/install-code/",
        views.installer_device_install_code_view,
        name="installer_device_install_code",
    ),
    path(
        "installer/work-orders/<id:work_order_id>/devices/<uuid:device_uid>/remove/",
        views.installer_device_remove_view,
        name="installer_device_remove",
    ),
    path("installer/devices/<uuid:device_uid>/status.json", views.installer_device_status_view, name="installer_device_status"),
    path("devices/", views.customer_devices_view, name="customer_devices"),
    path("devices/add/", views.customer_device_add_view, name="customer_device_add"),
    path("devices/<uuid:device_uid>/remove/", views.customer_device_remove_view, name="customer_device_remove"),
    path("devices/<uuid:device_uid>/status.json", views.customer_device_status_view, name="customer_device_status"),
    path("customer/premises/<id:premise_id>/live-demand.json", views.customer_live_demand_view, name="customer_live_demand"),
    path("operator/", views.operator_networks_view, name="operator_networks"),
    path("operator/networks/<id:network_id>/", views.operator_network_view, name="operator_network"),
    path("operator/area-commands/", views.operator_area_command_view, name="operator_area_command"),
    path("operator/area-commands/send/", views.operator_area_command_send_view, name="operator_area_command_send"),
    path("operator/area-commands/<id:area_request_id>/", views.operator_area_request_view, name="operator_area_request"),
    path("operator/networks/<id:network_id>/replace/", views.operator_network_replace_view, name="operator_network_replace"),
]
