"""The government cloud as Pulumi code: components, policies, offline plans and provisioning."""
