"""Helpers of the fault drills (``tests/test_drills_*.py``): the suite-wide log capture, the
upstream fault switches and the subprocess kill-drill driver."""
