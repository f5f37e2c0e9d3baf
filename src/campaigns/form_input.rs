//! The create form's body, sent either urlencoded (no file chosen, htmx without a file, the
//! tests) or as `multipart/form-data` (the browser, because the Meta section has an image
//! input). Both become the same field pairs; a chosen image file comes beside them.

use axum::Form;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

use crate::web::error::AppError;

/// A file chosen in the form's image input.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The field pairs of the form, and the image files when chosen.
pub struct FormInput {
    pub pairs: Vec<(String, String)>,
    pub image: Option<Upload>,
    /// The TikTok section's own image (when no Meta image serves both).
    pub tiktok_image: Option<Upload>,
}

/// The file inputs' names.
pub const IMAGE_FIELD: &str = "meta_image";
pub const TIKTOK_IMAGE_FIELD: &str = "tiktok_image";

impl<S: Send + Sync> FromRequest<S> for FormInput {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
        if !multipart {
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))?;
            return Ok(FormInput {
                pairs,
                image: None,
                tiktok_image: None,
            });
        }
        let bad = |e: axum::extract::multipart::MultipartError| {
            AppError::BadRequest(format!("The form could not be read: {}", e.body_text()))
        };
        let mut m = Multipart::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))?;
        let mut pairs = Vec::new();
        let mut image = None;
        let mut tiktok_image = None;
        while let Some(field) = m.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or("").to_string();
            if name == IMAGE_FIELD || name == TIKTOK_IMAGE_FIELD {
                let file_name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(bad)?;
                // A file input left empty still sends a part, with no name and no bytes.
                if !(file_name.is_empty() && bytes.is_empty()) {
                    let up = Some(Upload {
                        file_name,
                        bytes: bytes.to_vec(),
                    });
                    if name == IMAGE_FIELD {
                        image = up;
                    } else {
                        tiktok_image = up;
                    }
                }
            } else {
                let value = field.text().await.map_err(bad)?;
                pairs.push((name, value));
            }
        }
        Ok(FormInput {
            pairs,
            image,
            tiktok_image,
        })
    }
}
