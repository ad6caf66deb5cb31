"""The embedded local cloud: runs the Pulumi program's resources on one machine."""
