"""Lambda@Edge viewer-request check: only requests carrying a valid user-pool JWT reach the CDN."""
