"""The "Import roster" page of Django admin, on the enrolments list: upload a CSV (docs/roster-csv.md) for a school,
see the dry run line by line, confirm to apply it (classroom.roster). Platform operators pick the school; the page
offers the schools accounts.selectors.visible_organizations gives them."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from accounts.models import Organization, User
from accounts.selectors import visible_organizations
from classroom.roster import (
    INLINE_ROWS,
    MAX_FILE_BYTES,
    RosterFileError,
    RosterImportResult,
    RosterRefused,
    roster_import,
    roster_import_request,
    summary_text,
)
from core.exceptions import ApplicationError
from core.models import Job


class RosterUploadForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label="School")
    file = forms.FileField(label="Roster CSV", help_text="UTF-8 CSV: username,email,first_name,last_name,role,courses")

    def __init__(self, *args: Any, organizations: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["organization"])
        field.queryset = organizations
        if len(organizations) == 1:
            field.initial = organizations[0].pk


class RosterApplyForm(forms.Form):
    """The dry run's file, sent back to be applied: checked again from scratch when applied."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), widget=forms.HiddenInput)
    csv = forms.CharField(strip=False, widget=forms.Textarea(attrs={"hidden": True}))

    def __init__(self, *args: Any, organizations: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["organization"]).queryset = organizations


class RosterImportAdminMixin(admin.ModelAdmin):
    """Adds the page at <changelist>/import-roster/ and a button to it on the list."""

    change_list_template = "admin/classroom/roster_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        info = (self.model._meta.app_label, self.model._meta.model_name)
        page = path(
            "import-roster/",
            self.admin_site.admin_view(self.roster_import_view),
            name="{}_{}_import_roster".format(*info),
        )
        return [page, *super().get_urls()]

    def roster_import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        organizations = visible_organizations(request.user)
        upload = RosterUploadForm(organizations=organizations)
        if request.method == "POST" and "apply" in request.POST:
            confirm = RosterApplyForm(request.POST, organizations=organizations)
            if confirm.is_valid():
                return self.roster_apply(request, confirm, organizations)
            messages.error(request, "The confirmation was incomplete; upload the file again.")
        elif request.method == "POST":
            upload = RosterUploadForm(request.POST, request.FILES, organizations=organizations)
            if upload.is_valid():
                preview = self.roster_preview(request, upload, organizations)
                if preview is not None:
                    return preview
        return self.roster_page(request, upload=upload)

    def roster_preview(
        self, request: HttpRequest, upload: RosterUploadForm, organizations: QuerySet[Organization]
    ) -> HttpResponse | None:
        organization = upload.cleaned_data["organization"]
        file = upload.cleaned_data["file"]
        if file.size > MAX_FILE_BYTES:
            upload.add_error("file", f"The file has {file.size:,} bytes; at most {MAX_FILE_BYTES:,} are read.")
            return None
        data = file.read()
        try:
            result = roster_import(organization=organization, data=data, dry_run=True)
        except RosterFileError as error:
            for message in error.errors["csv"]:
                upload.add_error("file", message)
            return None
        confirm = RosterApplyForm(
            initial={"organization": organization.pk, "csv": data.decode("utf-8-sig")}, organizations=organizations
        )
        return self.roster_page(request, upload=None, confirm=confirm, result=result, organization=organization)

    def roster_apply(
        self, request: HttpRequest, confirm: RosterApplyForm, organizations: QuerySet[Organization]
    ) -> HttpResponse:
        organization = confirm.cleaned_data["organization"]
        data = confirm.cleaned_data["csv"].encode("utf-8")
        requester = cast(User, request.user)  # admin_view: a signed-in staff account
        try:
            outcome = roster_import_request(organization=organization, requested_by=requester, data=data, dry_run=False)
        except RosterRefused as refused:
            messages.error(request, refused.message)
            return self.roster_page(request, upload=None, result=refused.result, organization=organization)
        except ApplicationError as error:
            messages.error(request, " ".join([error.message, *error.errors.get("csv", [])]))
            return self.roster_page(request, upload=RosterUploadForm(organizations=organizations))
        if isinstance(outcome, Job):
            messages.info(request, f"The roster runs as job {outcome.pk}: this page shows how far it got.")
            return HttpResponseRedirect(reverse("admin:core_job_change", args=[outcome.pk]))
        messages.success(request, f"{organization}: {summary_text(outcome)}")
        info = (self.model._meta.app_label, self.model._meta.model_name)
        return HttpResponseRedirect(reverse("admin:{}_{}_changelist".format(*info)))

    def roster_page(
        self,
        request: HttpRequest,
        *,
        upload: RosterUploadForm | None,
        confirm: RosterApplyForm | None = None,
        result: RosterImportResult | None = None,
        organization: Organization | None = None,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import roster",
            "upload": upload,
            "confirm": confirm,
            "result": result,
            "organization": organization,
            "inline_rows": INLINE_ROWS,
            "can_apply": result is not None
            and result["summary"]["refused"] == 0
            and result["summary"]["lines"] > result["summary"]["unchanged"],
        }
        return TemplateResponse(request, "admin/classroom/roster_import.html", context)
