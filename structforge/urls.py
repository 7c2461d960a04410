from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from structforge.health import healthz

api_v1 = [
    path("", include("sharing.urls")),
    path("", include("workflows.urls")),
    path("", include("executions.urls")),
    path("", include("scheduling.urls")),
    path("", include("templates_app.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
]
