"""What the Lambda service does around the functions: execution environments, invokes
(sync and async), event source mappings, the HTTP gateway, schedules, metrics and logs."""
