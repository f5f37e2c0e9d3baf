-- No JIT compilation for the server's role. adpilot's queries are short and read a few days
-- of a few partitions, but the planner prices a scan over the whole partitioned metrics table
-- above jit_above_cost, and compiling the expressions of dozens of partitions then costs more
-- than the query: on the benchmark's data (2,000 campaigns, two years) the alert signals took
-- 161 ms and 173 ms with JIT and 15 ms and 28 ms without; the dashboard and ingest figures
-- were the same either way. An operator can set it back per database or per role.
ALTER ROLE adpilot_app SET jit = off;
