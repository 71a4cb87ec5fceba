"""The policy service: proposals, approvals and withdrawals of policy versions, and the impact of
a proposal on every open household. The standards themselves are in services/rules/."""
