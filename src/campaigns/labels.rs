//! What other pages need to label a campaign they only know by id: its currency and account.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::db::schema::campaigns;

/// (campaign id, account id, currency) of the campaigns among `ids` that exist.
pub async fn currency_and_account(
    c: &mut Conn,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    campaigns::table
        .filter(campaigns::id.eq_any(ids))
        .select((campaigns::id, campaigns::account_id, campaigns::currency))
        .load(c)
        .await
}
