//! Images uploaded with the create form, kept in the database from the moment they pass the
//! checks: the push job (and any retry) uploads exactly these bytes to the platform, and a
//! form shown again after a mistake elsewhere keeps the image without asking for it again.

use diesel::OptionalExtension;
use diesel::sql_types::{Binary, Integer, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;

use super::meta_create::ImageInfo;

/// A kept image.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct StoredImage {
    #[diesel(sql_type = Text)]
    pub file_name: String,
    #[diesel(sql_type = Text)]
    pub mime: String,
    #[diesel(sql_type = Integer)]
    pub width: i32,
    #[diesel(sql_type = Integer)]
    pub height: i32,
    #[diesel(sql_type = Binary)]
    pub bytes: Vec<u8>,
}

/// A file name safe to show and to send: its last path part, printable, at most 100 chars.
pub fn clean_name(raw: &str, mime: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    let name = name.trim();
    if name.is_empty() {
        if mime == "image/png" {
            "image.png"
        } else {
            "image.jpg"
        }
        .to_string()
    } else {
        name.to_string()
    }
}

pub async fn store(
    c: &mut Conn,
    org_id: Uuid,
    user_id: Uuid,
    file_name: &str,
    info: ImageInfo,
    bytes: &[u8],
) -> diesel::QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO campaign_images (org_id, id, file_name, mime, width, height, bytes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(file_name)
    .bind::<Text, _>(info.mime)
    .bind::<Integer, _>(i32::try_from(info.width).unwrap_or(i32::MAX))
    .bind::<Integer, _>(i32::try_from(info.height).unwrap_or(i32::MAX))
    .bind::<Binary, _>(bytes)
    .bind::<SqlUuid, _>(user_id)
    .execute(c)
    .await?;
    Ok(id)
}

/// The image with this id, if it is this organization's.
pub async fn load(c: &mut Conn, id: Uuid) -> diesel::QueryResult<Option<StoredImage>> {
    diesel::sql_query(
        "SELECT file_name, mime, width, height, bytes FROM campaign_images WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(c)
    .await
    .optional()
}
