from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from smms.health import health_view

urlpatterns = [
    path("health", health_view, name="health"),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("smms.api.urls")),
    path("", include("accounts.urls")),
    path("listening/", include("listening.urls")),
    path("analytics/", include("analytics.urls")),
    path("publishing/", include("publishing.urls")),
    path("inbox/", include("moderation.urls")),
    path("contacts/", include("crm_bridge.urls")),
]
