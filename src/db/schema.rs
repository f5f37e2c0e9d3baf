//! Diesel table definitions, written by hand to match `migrations/`.
//!
//! Each table belongs to one module; only the owner writes it (docs/architecture.md, "Who owns
//! which tables"). In the database every key of a tenant table leads with `org_id`; the keys
//! declared here stay `id` because ids are random UUIDs and `find(id)` inside a tenant
//! transaction is how the code looks rows up (row-level security adds the `org_id`).

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        password_changed_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        time_zone -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (org_id, user_id) {
        org_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        org_id -> Nullable<Uuid>,
        csrf_token -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        org_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        org_id -> Uuid,
        actor_user_id -> Nullable<Uuid>,
        action -> Text,
        subject -> Text,
        details -> Jsonb,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
        client_ip -> Nullable<Text>,
    }
}

diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(invitations -> organizations (org_id));

diesel::table! {
    vault_keys (version) {
        version -> Int4,
        wrapped_key -> Bytea,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    connections (id) {
        id -> Uuid,
        org_id -> Uuid,
        platform -> Text,
        status -> Text,
        access_token_enc -> Nullable<Text>,
        refresh_token_enc -> Nullable<Text>,
        token_expires_at -> Nullable<Timestamptz>,
        scope -> Nullable<Text>,
        key_version -> Nullable<Int4>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_refreshed_at -> Nullable<Timestamptz>,
        last_checked_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        rate_limited_until -> Nullable<Timestamptz>,
        reconnect_notified_at -> Nullable<Timestamptz>,
        removed_at -> Nullable<Timestamptz>,
        settings -> Jsonb,
    }
}

diesel::table! {
    ad_accounts (id) {
        id -> Uuid,
        org_id -> Uuid,
        connection_id -> Nullable<Uuid>,
        platform -> Text,
        external_id -> Text,
        name -> Text,
        currency -> Text,
        time_zone -> Text,
        status -> Text,
        managed -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        connection_removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    oauth_states (id) {
        id -> Uuid,
        org_id -> Uuid,
        session_id -> Uuid,
        user_id -> Uuid,
        platform -> Text,
        state_hash -> Bytea,
        pkce_verifier_enc -> Nullable<Text>,
        reconnect_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(ad_accounts -> connections (connection_id));

diesel::table! {
    campaigns (id) {
        id -> Uuid,
        org_id -> Uuid,
        account_id -> Uuid,
        platform -> Text,
        external_id -> Text,
        name -> Text,
        status -> Text,
        daily_budget_micros -> Nullable<Int8>,
        currency -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_synced_at -> Nullable<Timestamptz>,
        lifetime_budget_micros -> Nullable<Int8>,
        budget_remaining_micros -> Nullable<Int8>,
        starts_at -> Nullable<Timestamptz>,
        ends_at -> Nullable<Timestamptz>,
        platform_created_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    account_sync (org_id, account_id) {
        org_id -> Uuid,
        account_id -> Uuid,
        lookback_days -> Int4,
        backfill_days -> Int4,
        backfill_from -> Nullable<Date>,
        backfilled_from -> Nullable<Date>,
        backfill_done -> Bool,
        last_success_at -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        failing_since -> Nullable<Timestamptz>,
        rate_limited_until -> Nullable<Timestamptz>,
        rows_synced -> Int8,
    }
}

diesel::joinable!(campaigns -> ad_accounts (account_id));

diesel::table! {
    platform_actions (id) {
        id -> Uuid,
        org_id -> Uuid,
        campaign_id -> Uuid,
        kind -> Text,
        source -> Text,
        intent_key -> Text,
        actor_user_id -> Nullable<Uuid>,
        rule_id -> Nullable<Uuid>,
        rule_run_id -> Nullable<Uuid>,
        budget_change -> Nullable<Jsonb>,
        from_budget_micros -> Nullable<Int8>,
        to_budget_micros -> Nullable<Int8>,
        currency -> Nullable<Text>,
        state -> Text,
        message -> Nullable<Text>,
        platform_response -> Nullable<Text>,
        attempts -> Int4,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        level -> Text,
        ad_group_id -> Nullable<Uuid>,
        ad_id -> Nullable<Uuid>,
        budget_period -> Nullable<Text>,
    }
}

diesel::joinable!(platform_actions -> campaigns (campaign_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    organizations,
    memberships,
    sessions,
    invitations,
    audit_log,
    vault_keys,
    connections,
    ad_accounts,
    oauth_states,
    campaigns,
    account_sync,
    platform_actions,
);
