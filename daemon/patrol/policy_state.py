"""Switching a policy off and on again, without losing it or what it did.

A disabled policy stays with its condition, its action and its firings (they
are on the tickets' trails); enabling it again lets it act on tickets it has
not acted on yet.
"""
from __future__ import annotations

from daemon.errors import NotFound
from daemon.patrol import policies
from daemon.store.models import Policy


def get_policy_by_id(policy_id: int) -> Policy:
    policy = Policy.get_or_none(Policy.id == policy_id)
    if policy is None:
        raise NotFound(f"no policy with id {policy_id} (see `patroldesk policy list`)")
    return policy


def set_enabled(name: str, enabled: bool) -> Policy:
    """Enable or disable the policy called `name`; NotFound when there is none."""
    policy = policies.get_policy(name)
    Policy.update(enabled=enabled).where(Policy.id == policy.id).execute()
    return Policy.get_by_id(policy.id)
