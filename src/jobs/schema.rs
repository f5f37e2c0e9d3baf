//! Diesel definitions of the tables this module owns (see the `jobs` migration).

// lease_owner, lease_expires_at and started_at are left out: diesel's default build takes
// 16 columns at most, and only the raw worker queries in store.rs touch them.
diesel::table! {
    jobs (id) {
        id -> Uuid,
        kind -> Text,
        org_id -> Nullable<Uuid>,
        queue -> Text,
        priority -> SmallInt,
        payload -> Jsonb,
        idempotency_key -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    job_schedule_slots (schedule, slot) {
        schedule -> Text,
        slot -> Timestamptz,
        job_id -> Nullable<Uuid>,
        enqueued_at -> Timestamptz,
    }
}
