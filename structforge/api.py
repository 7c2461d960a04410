"""Project-wide REST conventions: error bodies, pagination."""

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, pagination
from rest_framework.views import exception_handler as drf_exception_handler

from structforge.errors import InvalidInput, LimitReached, QuotaExceeded


class TooManyRequests(exceptions.APIException):
    status_code = 429
    default_detail = "A quota is used up."
    default_code = "quota_exceeded"


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def exception_handler(exc, context):
    # Services refuse input with InvalidInput (field -> problems); models may raise Django's
    # ValidationError. Both become a 400 that names each field, like a serializer error.
    if isinstance(exc, QuotaExceeded):
        exc = TooManyRequests(str(exc))
    elif isinstance(exc, LimitReached):
        exc = Conflict(str(exc))
    elif isinstance(exc, InvalidInput):
        exc = exceptions.ValidationError(detail=exc.errors)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, ProtectedError):
        exc = exceptions.ValidationError({"detail": ["This object is still in use and cannot be deleted."]})
    return drf_exception_handler(exc, context)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
