from django.urls import path

from govhall.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_by_password, name="login"),
    path("login/code/", views.login_by_code, name="login_code"),
    path("logout/", views.logout_everywhere, name="logout"),
    path("register/", views.register, name="register"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<int:session_id>/end/", views.session_end_view, name="session_end"),
    path("password/", views.password_change, name="password_change"),
]
