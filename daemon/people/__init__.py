"""People who work the tickets: their accounts, roles and passwords, and sign-in lock-out.

users     accounts of agents, reviewers and admins: creating them, hashing and checking passwords
accounts  keeping accounts: roles, who may sign in, resets, revoking sessions; the last admin stays
strength  the rule every new password meets (length, not one's own name, zxcvbn's estimate), with the reason
lockout   sign-in throttling by name and address, known browser, current-password check; blocks that grow

No other domain package needs people; the front doors (console, CLI) use the modules.
"""
