from django.urls import path

from thirdparty.api import devices, views

app_name = "espi"

_point = "Subscription/<id:subscription_id>/UsagePoint/<id:usage_point_id>"
_reading = f"{_point}/MeterReading/<id:meter_reading_id>"
_device = f"{_point}/Device/<uuid:device_id>"

urlpatterns = [
    path("ReadServiceStatus", views.ReadServiceStatusApi.as_view(), name="read_service_status"),
    path("Authorization", views.AuthorizationListApi.as_view(), name="authorization_list"),
    path("Authorization/<id:authorization_id>", views.AuthorizationApi.as_view(), name="authorization"),
    path("ApplicationInformation", views.ApplicationInformationListApi.as_view(), name="application_information_list"),
    path(
        "ApplicationInformation/<id:application_information_id>", views.ApplicationInformationApi.as_view(), name="application_information"
    ),
    path("LocalTimeParameters", views.LocalTimeParametersListApi.as_view(), name="local_time_parameters_list"),
    path("LocalTimeParameters/<id:local_time_parameters_id>", views.LocalTimeParametersApi.as_view(), name="local_time_parameters"),
    path("Subscription/<id:subscription_id>", views.SubscriptionApi.as_view(), name="subscription"),
    path("Subscription/<id:subscription_id>/UsagePoint", views.UsagePointListApi.as_view(), name="usage_point_list"),
    path(_point, views.UsagePointApi.as_view(), name="usage_point"),
    path(f"{_point}/MeterReading", views.MeterReadingListApi.as_view(), name="meter_reading_list"),
    path(_reading, views.MeterReadingApi.as_view(), name="meter_reading"),
    path(f"{_reading}/IntervalBlock", views.IntervalBlockListApi.as_view(), name="interval_block_list"),
    path(f"{_reading}/IntervalBlock/<id:interval_block_id>", views.IntervalBlockApi.as_view(), name="interval_block"),
    path(f"{_point}/UsageSummary", views.UsageSummaryListApi.as_view(), name="usage_summary_list"),
    path(f"{_point}/UsageSummary/<id:usage_summary_id>", views.UsageSummaryApi.as_view(), name="usage_summary"),
    path(f"{_point}/Device", devices.DeviceListApi.as_view(), name="device_list"),
    path(_device, devices.DeviceApi.as_view(), name="device"),
    path(f"{_device}/LoadControl", devices.LoadControlApi.as_view(), name="device_load_control"),
    path(f"{_device}/StatusRead", devices.StatusReadApi.as_view(), name="device_status_read"),
    path(f"{_device}/Command/<uuid:command_id>", devices.DeviceCommandApi.as_view(), name="device_command"),
    path("ReadingType", views.ReadingTypeListApi.as_view(), name="reading_type_list"),
    path("ReadingType/<str:reading_type_id>", views.ReadingTypeApi.as_view(), name="reading_type"),
    path("Batch/Subscription/<id:subscription_id>", views.BatchSubscriptionApi.as_view(), name="batch_subscription"),
]
