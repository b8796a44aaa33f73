"""Staff pages to import and export implementation lists (实施清单) as XLSX or CSV.

The pages parse the form, ask the guards, call ``catalog.transfer`` and render; the rules live there.
"""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import MemoryFileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from govhall.catalog import transfer


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("实施清单文件"),
        help_text=gettext_lazy("XLSX 工作簿或 UTF-8 编码的 CSV 文件，格式与导出的文件相同。"),
        # Checked in clean_file, so a file cut off for its size says so rather than "required".
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args: Any, upload_too_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.upload_too_large = upload_too_large

    def clean_file(self) -> Any:
        if self.upload_too_large:
            raise ValidationError(_("文件超过%(megabytes)s MB，请分成几个文件导入。") % _megabytes())
        uploaded = self.cleaned_data.get("file")
        if not uploaded:
            raise ValidationError(_("请选择要导入的文件。"))
        return uploaded


class ExportForm(forms.Form):
    file_format = forms.ChoiceField(
        label=gettext_lazy("文件格式"),
        choices=[
            (transfer.FORMAT_XLSX, gettext_lazy("XLSX 工作簿（Excel、WPS）")),
            (transfer.FORMAT_CSV, gettext_lazy("CSV（UTF-8，三类记录在同一文件中）")),
        ],
        initial=transfer.FORMAT_XLSX,
        widget=forms.RadioSelect,
    )
    region_code = forms.CharField(
        label=gettext_lazy("实施区划代码"),
        required=False,
        max_length=12,
        help_text=gettext_lazy("只导出该区划及其下级区划的实施清单，例如 330106。"),
    )
    department_code = forms.CharField(label=gettext_lazy("实施部门编码"), required=False, max_length=32)
    basic_code = forms.CharField(label=gettext_lazy("基本编码"), required=False, max_length=32)


class _CappedMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps the upload in memory only (the file is never written anywhere) and stops reading it
    once it passes the import's size limit, before it is all received."""

    too_large = False

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None):
        # The parent activates only below FILE_UPLOAD_MAX_MEMORY_SIZE; the cap below takes its place.
        self.activated = True

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > transfer.IMPORT_MAX_BYTES:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def _refusal(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "workbench/transfer/refused.html", {"message": message}, status=403)


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def transfer_import(request: HttpRequest) -> HttpResponse:
    """Upload a file; every row that differs from the published version becomes a change for review."""
    if not transfer.implementation_list_may_import(user=request.user):
        return _refusal(request, _("只有事项管理员可以导入实施清单。"))
    # Upload handlers can only be replaced before the body is read, hence CSRF is checked after this.
    handler = _CappedMemoryUploadHandler(request)
    request.upload_handlers = [handler]
    return _transfer_import(request, handler)


@csrf_protect
def _transfer_import(request: HttpRequest, handler: _CappedMemoryUploadHandler) -> HttpResponse:
    report = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, upload_too_large=handler.too_large)
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            report = transfer.implementation_list_import(
                actor=request.user, uploaded_file=uploaded, filename=uploaded.name
            )
            form = ImportForm()
    else:
        form = ImportForm()
    return render(
        request,
        "workbench/transfer/import.html",
        {
            "form": form,
            "report": report,
            "max_megabytes": _megabytes()["megabytes"],
            "max_rows": transfer.IMPORT_MAX_ROWS,
        },
    )


def _megabytes() -> dict[str, int]:
    return {"megabytes": transfer.IMPORT_MAX_BYTES // (1024 * 1024)}


@login_required
@require_http_methods(["GET", "POST"])
def transfer_export(request: HttpRequest) -> HttpResponse:
    """Download the implementations in the user's scope, optionally narrowed, as XLSX or CSV."""
    if not transfer.implementation_list_may_export(user=request.user):
        return _refusal(request, _("只有事项管理员或事项审核员可以导出实施清单。"))
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            implementations = transfer.implementation_list_for_transfer(
                user=request.user,
                region_code=form.cleaned_data["region_code"].strip(),
                department_code=form.cleaned_data["department_code"].strip(),
                basic_code=form.cleaned_data["basic_code"].strip(),
            )
        except ValidationError as error:
            for element, messages in error.message_dict.items():
                for message in messages:
                    form.add_error(element, message)
        else:
            content, content_type, filename = transfer.implementation_list_export(
                implementations=implementations, file_format=form.cleaned_data["file_format"]
            )
            response = HttpResponse(content, content_type=content_type)
            response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
            return response
    return render(request, "workbench/transfer/export.html", {"form": form})
