"""Governance API (``/api/v1/governance``): policies. The kill switch and the dry-run act on
proposals, so their routes live with the work (``inbox.api_governance``), under the same prefix."""
from ninja import Router

from orchestra_site.errors import Forbidden, NotFound
from orchestra_site.schemas import ERROR_RESPONSES

from . import permissions, services
from .auth import bearer
from .models import Policy
from .schemas import PolicyOut, PolicyPatch

router = Router(auth=bearer, tags=["governance"])
ERRORS = ERROR_RESPONSES


@router.get("/policies", response={200: list[PolicyOut], **ERRORS})
def list_policies(request):
    """Active and inactive policies in evaluation order (auditors, orchestrators, board, admins)."""
    if not permissions.can_view_governance(request.auth):
        raise Forbidden("Policies are visible to auditors, orchestrators, the board and admins.")
    return list(Policy.objects.order_by("priority", "id"))


@router.patch("/policies/{policy_id}", response={200: PolicyOut, **ERRORS})
def patch_policy(request, policy_id: int, payload: PolicyPatch):
    """Admins: switch a policy on or off, or change its priority or quorum (versioned)."""
    if not permissions.can_edit_policy(request.auth):
        raise Forbidden("Only admins edit policies.", code="edit_policy_forbidden")
    policy = Policy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("No such policy.")
    return services.policy_update(policy=policy, by=request.auth, **payload.model_dump(exclude_none=True))
