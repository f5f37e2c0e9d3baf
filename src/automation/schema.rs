//! Diesel definitions of the tables this module owns (see the `rules` migration).

diesel::table! {
    rules (id) {
        id -> Uuid,
        org_id -> Uuid,
        name -> Text,
        text -> Text,
        mode -> Text,
        paused -> Bool,
        check_every_minutes -> Nullable<Integer>,
        check_daily_at -> Nullable<Time>,
        owner_user_id -> Nullable<Uuid>,
        last_run_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rule_runs (id) {
        id -> Uuid,
        org_id -> Uuid,
        rule_id -> Uuid,
        mode -> Text,
        slot -> Timestamptz,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        campaigns_evaluated -> Integer,
        campaigns_matched -> Integer,
        actions_executed -> Integer,
        actions_skipped -> Integer,
        actions_failed -> Integer,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    rule_run_items (id) {
        id -> Uuid,
        org_id -> Uuid,
        run_id -> Uuid,
        rule_id -> Uuid,
        campaign_id -> Uuid,
        campaign_name -> Text,
        dry_run -> Bool,
        acted -> Bool,
        seen -> Jsonb,
        actions -> Jsonb,
        budget_from_micros -> Nullable<BigInt>,
        budget_to_micros -> Nullable<BigInt>,
        created_at -> Timestamptz,
        level -> Text,
        object_id -> Uuid,
    }
}

diesel::table! {
    rule_settings (org_id) {
        org_id -> Uuid,
        max_actions_per_check -> Integer,
        max_budget_increase_pct -> Integer,
        kill_switch -> Bool,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(rules, rule_runs, rule_run_items);
diesel::joinable!(rule_runs -> rules (rule_id));
diesel::joinable!(rule_run_items -> rules (rule_id));
