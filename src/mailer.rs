//! Outgoing email through lettre: SMTP when SMTP_URL is set, else files in DATA_DIR/outbox.

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the email address \"{0}\" is not valid")]
    BadAddress(String),
    #[error("SMTP_URL is not usable: {0}")]
    Config(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    #[error("the mail server refused the message: {0}")]
    Permanent(String),
}

impl MailError {
    /// Whether sending again later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, MailError::Temporary(_))
    }
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(std::path::PathBuf),
}

/// An email ready to send: a plain-text part and an optional HTML part.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Extra headers such as List-Unsubscribe, as (name, value).
    pub headers: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Mailer, MailError> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Config(e.to_string()))?
                    .build(),
            ),
            None => {
                let dir = config.outbox_dir();
                Transport::Outbox(dir)
            }
        };
        Ok(Mailer {
            from: config.mail_from.clone(),
            transport,
        })
    }

    /// Where emails go when no SMTP server is configured.
    pub fn outbox_dir(&self) -> Option<&std::path::Path> {
        match &self.transport {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| MailError::BadAddress(email.to.clone()))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone());
        for (name, value) in &email.headers {
            builder = builder.raw_header(lettre::message::header::HeaderValue::new(
                lettre::message::header::HeaderName::new_from_ascii(name.clone())
                    .map_err(|e| MailError::Build(e.to_string()))?,
                value.clone(),
            ));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone());
        let message = match &email.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|e| MailError::Build(e.to_string()))?;

        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    MailError::Permanent(e.to_string())
                } else {
                    MailError::Temporary(e.to_string())
                }
            }),
            Transport::Outbox(dir) => {
                private_dir(dir)
                    .await
                    .map_err(|e| MailError::Temporary(e.to_string()))?;
                // Named by a time-ordered id (lettre's file transport names by a random one):
                // the newest message is the last by name, where file times can tie.
                let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| MailError::Temporary(e.to_string()))?;
                // Emails hold invitation and reset links: only adpilot's user may read them.
                set_mode(&path, 0o600)
                    .await
                    .map_err(|e| MailError::Temporary(e.to_string()))
            }
        }
    }
}

/// Creates the outbox readable by adpilot's user alone (0700), and tightens an existing one:
/// each file is written with the process umask, so the directory is what keeps others out
/// between the write and the file's own chmod.
async fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    set_mode(dir, 0o700).await
}

async fn set_mode(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).await
}
