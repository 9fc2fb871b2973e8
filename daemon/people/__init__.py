"""People who work the tickets: their accounts, roles and passwords, and sign-in lock-out.

users     accounts of agents, reviewers and admins: creating them, hashing and checking passwords
accounts  keeping accounts: roles, who may sign in, resets, revoking sessions; the last admin stays
lockout   at most a few password checks per account name between locks, even under parallel guessing

No other domain package needs people; the front doors (console, CLI) use the modules.
"""
