"""The baseline's API: one token look-up and one INSERT per POST."""
import hashlib

from django.urls import path
from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer

from .models import Row, Token


class Bearer(HttpBearer):
    def authenticate(self, request, token):
        return Token.objects.filter(digest=hashlib.sha256(token.encode()).hexdigest()).first()


class In(Schema):
    action: str
    resource: str = ""
    summary: str = ""
    args: dict = {}


class Out(Schema):
    id: int
    action: str
    resource: str


api = NinjaAPI(auth=Bearer(), urls_namespace="baseline")


@api.post("/proposals", response={201: Out})
def create(request, payload: In):
    row = Row.objects.create(token=request.auth, action=payload.action, resource=payload.resource,
                             body=payload.dict())
    return 201, row


@api.get("/proposals", response={200: list[Out]})
def listing(request):
    return []


urlpatterns = [path("api/v1/", api.urls)]
