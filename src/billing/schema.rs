//! Diesel definitions of the tables this module owns (see the `billing` migration).

diesel::table! {
    billing_accounts (org_id) {
        org_id -> Uuid,
        plan -> Text,
        status -> Text,
        stripe_customer_id -> Nullable<Text>,
        stripe_subscription_id -> Nullable<Text>,
        current_period_end -> Nullable<Timestamptz>,
        past_due_since -> Nullable<Timestamptz>,
        last_event_created -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        cancel_at_period_end -> Bool,
        trial_end -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    stripe_events (event_id) {
        event_id -> Text,
        org_id -> Uuid,
        #[sql_name = "type"]
        kind -> Text,
        created -> Timestamptz,
        processed_at -> Timestamptz,
    }
}
