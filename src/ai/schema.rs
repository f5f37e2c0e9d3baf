//! Diesel definitions of the tables this module owns (see the `ai` migration).

diesel::table! {
    ai_usage (id) {
        id -> Uuid,
        org_id -> Uuid,
        task -> Text,
        provider -> Text,
        model -> Text,
        input_tokens -> BigInt,
        output_tokens -> BigInt,
        cost_micros -> BigInt,
        cached -> Bool,
        outcome -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    ai_cache (org_id, key_hash) {
        org_id -> Uuid,
        key_hash -> Bytea,
        task -> Text,
        model -> Text,
        response -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    copy_drafts (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        name -> Text,
        brief -> Jsonb,
        drafts -> Jsonb,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}
