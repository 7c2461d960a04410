from django.urls import path

from sharing.views import TokenLoginView, TokenLogoutView

urlpatterns = [
    path("auth/token/", TokenLoginView.as_view(), name="auth-token"),
    path("auth/logout/", TokenLogoutView.as_view(), name="auth-logout"),
]
