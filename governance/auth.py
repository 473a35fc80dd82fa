"""Bearer-token authentication for the API: agents' and reviewers' tokens."""
from ninja.security import HttpBearer

from .tokens import token_authenticate


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; resolves to an ``Agent`` or a reviewer (user). Missing or
    unknown tokens are 401; what a principal may then do is ``governance.permissions``' business."""

    def authenticate(self, request, token):
        return token_authenticate(token)


bearer = BearerToken()
