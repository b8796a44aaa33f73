from django.urls import path

from govhall.accounts import views, views_identity

app_name = "accounts"

urlpatterns = [
    path("", views_identity.account, name="account"),
    path("companies/register/", views_identity.company_register, name="company_register"),
    path("companies/<str:credit_code>/", views_identity.company, name="company"),
    path(
        "companies/<str:credit_code>/agencies/<int:agency_id>/withdraw/",
        views_identity.agency_withdraw,
        name="agency_withdraw",
    ),
    path("login/", views.login_by_password, name="login"),
    path("login/code/", views.login_by_code, name="login_code"),  # citizens: phone + SMS code
    path("login/verify/", views.login_verify, name="login_verify"),  # staff: the second factor
    path("logout/", views.logout_everywhere, name="logout"),
    path("register/", views.register, name="register"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<int:session_id>/end/", views.session_end_view, name="session_end"),
    path("password/", views.password_change, name="password_change"),
]
