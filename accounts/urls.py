from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    # Logging out changes state, so it is a POST (Django refuses GET here).
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
