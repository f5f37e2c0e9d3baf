ALTER ROLE adpilot_app RESET jit;
