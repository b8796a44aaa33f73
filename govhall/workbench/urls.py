from django.urls import include, path

from govhall.workbench import views

app_name = "workbench"

implementation = "implementations/<str:implementation_code>/"
entry = "entries/<str:basic_code>/"
change = "changes/<int:change_id>/"

urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.StaffLoginView.as_view(), name="login"),  # redirects to /accounts/login/
    # Cases (办件): the officer's to-do list and case pages
    path("cases/", include("govhall.workbench.urls_cases")),
    # One-window intake (一窗受理) and accept-anywhere (收受分离)
    path("intake/", include("govhall.workbench.urls_intake")),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    # Implementations (实施清单)
    path("implementations/", views.implementation_list, name="implementation_list"),
    path("implementations/new/", views.implementation_add, name="implementation_add"),
    path(implementation, views.implementation_detail, name="implementation_detail"),
    path(f"{implementation}history/", views.implementation_history, name="implementation_history"),
    path(f"{implementation}change/", views.implementation_change, name="implementation_change"),
    path(f"{implementation}suspend/", views.implementation_state, {"action": "suspend"}, name="implementation_suspend"),
    path(f"{implementation}resume/", views.implementation_state, {"action": "resume"}, name="implementation_resume"),
    path(f"{implementation}cancel/", views.implementation_state, {"action": "cancel"}, name="implementation_cancel"),
    # Catalogue entries (基本目录), the province's
    path("entries/", views.entry_list, name="entry_list"),
    path("entries/new/", views.entry_add, name="entry_add"),
    path(entry, views.entry_detail, name="entry_detail"),
    path(f"{entry}change/", views.entry_change, name="entry_change"),
    path(f"{entry}split/", views.entry_split, name="entry_split"),
    path(f"{entry}merge/", views.entry_merge, name="entry_merge"),
    path(f"{entry}suspend/", views.entry_state, {"action": "suspend"}, name="entry_suspend"),
    path(f"{entry}resume/", views.entry_state, {"action": "resume"}, name="entry_resume"),
    path(f"{entry}cancel/", views.entry_state, {"action": "cancel"}, name="entry_cancel"),
    # Changes and their review
    path("changes/", views.change_list_mine, name="change_list_mine"),
    path(change, views.change_detail, name="change_detail"),
    path(f"{change}edit/", views.change_edit, name="change_edit"),
    path(f"{change}submit/", views.change_submit, name="change_submit"),
    path(f"{change}withdraw/", views.change_withdraw, name="change_withdraw"),
    path(f"{change}review/", views.change_review, name="change_review"),
    path("reviews/", views.review_queue, name="review_queue"),
    path("catalogue/transfer/", include("govhall.workbench.transfer_urls")),
]
