"""The Slack front door: a slack-bolt app over the core (create_slack_app)."""
