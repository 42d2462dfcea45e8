"""Auth for a team server (off on the embedded default): users, API tokens, and who a request
is (credentials.py). See README "Team setup"."""
