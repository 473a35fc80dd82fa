def test_agent_posts_and_reviewer_approves(agent_client, alice_client, proposal_body):
    r = agent_client.post_json("/api/v1/proposals", dict(proposal_body, risk="medium"))  # one approver
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    r = alice_client.post_json(f"/api/v1/proposals/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 200, r.content
    assert agent_client.get(f"/api/v1/proposals/{pid}").json()["status"] == "approved"
