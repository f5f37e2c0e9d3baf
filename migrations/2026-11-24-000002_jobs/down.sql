DROP TABLE IF EXISTS job_schedule_slots;
DROP TABLE IF EXISTS jobs;
DROP FUNCTION IF EXISTS app_jobs_worker();
