//! The token vault: platform tokens encrypted at rest with AES-256-GCM.
//!
//! Data keys are random, versioned and stored in `vault_keys` wrapped (encrypted) under the
//! master key ADPILOT_SECRET_KEY, so every instance sharing the master key reads every token and
//! rotation needs no new setting. A ciphertext is `v{version}:{base64(nonce || sealed)}`; its
//! associated data binds organization, platform, connection and field, so a ciphertext copied to
//! another row, or from the access to the refresh column, fails to decrypt.

use std::collections::BTreeMap;
use std::sync::RwLock;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::schema::vault_keys;
use crate::db::{Conn, Db};
use crate::types::Platform;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the stored token cannot be decrypted (wrong key, or the value was moved or altered)")]
    Decrypt,
    #[error("the stored token refers to key version {0}, which this server does not have")]
    UnknownKey(i32),
    #[error("the stored token is not in the vault's format")]
    Format,
    #[error("encryption failed")]
    Encrypt,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl From<diesel::result::Error> for VaultError {
    fn from(e: diesel::result::Error) -> Self {
        VaultError::Db(crate::db::DbError::Query(e))
    }
}

/// Which secret of a connection a ciphertext holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Access,
    Refresh,
    Verifier,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Access => "access",
            Field::Refresh => "refresh",
            Field::Verifier => "pkce",
        }
    }
}

/// What a ciphertext is bound to.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub org_id: Uuid,
    pub platform: Platform,
    pub row_id: Uuid,
    pub field: Field,
}

impl Binding {
    fn aad(&self) -> String {
        format!(
            "adpilot-vault|{}|{}|{}|{}",
            self.org_id,
            self.platform,
            self.row_id,
            self.field.as_str()
        )
    }
}

/// Keys by version, the newest current.
pub struct Vault {
    master: [u8; 32],
    keys: RwLock<BTreeMap<i32, [u8; 32]>>,
    current: RwLock<i32>,
}

const WRAP_AAD: &[u8] = b"adpilot-vault-key-wrap";

fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| VaultError::Encrypt)?;
    let nonce: [u8; 12] = rand::random();
    let mut out = nonce.to_vec();
    out.extend(
        cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| VaultError::Encrypt)?,
    );
    Ok(out)
}

fn open(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < 12 + 16 {
        return Err(VaultError::Format);
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| VaultError::Decrypt)?;
    let (nonce, body) = sealed.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Decrypt)
}

impl Vault {
    /// Loads the data keys, creating the first one on a new database.
    pub async fn load(db: &Db, master: [u8; 32]) -> Result<Vault, VaultError> {
        let vault = Vault {
            master,
            keys: RwLock::new(BTreeMap::new()),
            current: RwLock::new(0),
        };
        let mut conn = db.conn().await?;
        if vault.reload(&mut conn).await? == 0 {
            vault.add_key(&mut conn).await?;
        }
        Ok(vault)
    }

    /// Re-reads the keys (another instance may have rotated); returns how many there are.
    pub async fn reload(&self, conn: &mut Conn) -> Result<usize, VaultError> {
        let rows: Vec<(i32, Vec<u8>)> = vault_keys::table
            .filter(vault_keys::retired_at.is_null())
            .select((vault_keys::version, vault_keys::wrapped_key))
            .order(vault_keys::version.asc())
            .load(conn)
            .await?;
        let mut keys = BTreeMap::new();
        for (version, wrapped) in rows {
            let raw = open(&self.master, &wrapped, WRAP_AAD).map_err(|_| VaultError::Decrypt)?;
            let key: [u8; 32] = raw.try_into().map_err(|_| VaultError::Format)?;
            keys.insert(version, key);
        }
        let n = keys.len();
        let newest = keys.keys().next_back().copied().unwrap_or(0);
        if let Ok(mut k) = self.keys.write() {
            *k = keys;
        }
        if let Ok(mut c) = self.current.write() {
            *c = newest;
        }
        Ok(n)
    }

    /// Adds a new data key, which becomes current; returns its version.
    pub async fn add_key(&self, conn: &mut Conn) -> Result<i32, VaultError> {
        let key: [u8; 32] = rand::random();
        let wrapped = seal(&self.master, &key, WRAP_AAD)?;
        let next: Option<i32> = vault_keys::table
            .select(diesel::dsl::max(vault_keys::version))
            .first(conn)
            .await?;
        let version = next.unwrap_or(0) + 1;
        diesel::insert_into(vault_keys::table)
            .values((
                vault_keys::version.eq(version),
                vault_keys::wrapped_key.eq(wrapped),
            ))
            .execute(conn)
            .await?;
        self.reload(conn).await?;
        Ok(version)
    }

    /// Retires every key older than the current one (after rotation re-encrypted everything).
    pub async fn retire_old_keys(&self, conn: &mut Conn) -> Result<usize, VaultError> {
        let current = self.current_version();
        let n = diesel::update(
            vault_keys::table
                .filter(vault_keys::version.lt(current))
                .filter(vault_keys::retired_at.is_null()),
        )
        .set(vault_keys::retired_at.eq(Some(chrono::Utc::now())))
        .execute(conn)
        .await?;
        self.reload(conn).await?;
        Ok(n)
    }

    pub fn current_version(&self) -> i32 {
        self.current.read().map(|c| *c).unwrap_or(0)
    }

    pub fn encrypt(&self, plaintext: &str, binding: &Binding) -> Result<String, VaultError> {
        self.encrypt_aad(plaintext, binding.aad().as_bytes())
    }

    pub fn decrypt(&self, stored: &str, binding: &Binding) -> Result<String, VaultError> {
        self.decrypt_aad(stored, binding.aad().as_bytes())
    }

    /// Encrypts a secret that is not a platform token (a webhook signing secret), bound to
    /// `purpose`, which names its table, organization, row and field.
    pub fn encrypt_other(&self, plaintext: &str, purpose: &str) -> Result<String, VaultError> {
        self.encrypt_aad(
            plaintext,
            format!("adpilot-vault-other|{purpose}").as_bytes(),
        )
    }

    pub fn decrypt_other(&self, stored: &str, purpose: &str) -> Result<String, VaultError> {
        self.decrypt_aad(stored, format!("adpilot-vault-other|{purpose}").as_bytes())
    }

    fn encrypt_aad(&self, plaintext: &str, aad: &[u8]) -> Result<String, VaultError> {
        let version = self.current_version();
        let key = self
            .keys
            .read()
            .ok()
            .and_then(|k| k.get(&version).copied())
            .ok_or(VaultError::UnknownKey(version))?;
        let sealed = seal(&key, plaintext.as_bytes(), aad)?;
        Ok(format!("v{version}:{}", B64.encode(sealed)))
    }

    fn decrypt_aad(&self, stored: &str, aad: &[u8]) -> Result<String, VaultError> {
        let (version, body) = Self::split(stored)?;
        let key = self
            .keys
            .read()
            .ok()
            .and_then(|k| k.get(&version).copied())
            .ok_or(VaultError::UnknownKey(version))?;
        let sealed = B64.decode(body).map_err(|_| VaultError::Format)?;
        let plain = open(&key, &sealed, aad)?;
        String::from_utf8(plain).map_err(|_| VaultError::Format)
    }

    /// The key version a stored value was written with.
    pub fn version_of(stored: &str) -> Result<i32, VaultError> {
        Self::split(stored).map(|(v, _)| v)
    }

    fn split(stored: &str) -> Result<(i32, &str), VaultError> {
        let rest = stored.strip_prefix('v').ok_or(VaultError::Format)?;
        let (v, body) = rest.split_once(':').ok_or(VaultError::Format)?;
        Ok((v.parse().map_err(|_| VaultError::Format)?, body))
    }

    /// A vault with one in-memory key, for unit tests.
    #[cfg(test)]
    pub fn in_memory() -> Vault {
        let mut keys = BTreeMap::new();
        keys.insert(1, rand::random());
        Vault {
            master: rand::random(),
            keys: RwLock::new(keys),
            current: RwLock::new(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(field: Field) -> Binding {
        Binding {
            org_id: Uuid::from_u128(1),
            platform: Platform::Google,
            row_id: Uuid::from_u128(2),
            field,
        }
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let v = Vault::in_memory();
        let c = v
            .encrypt("ya29.secret-token", &binding(Field::Access))
            .expect("encrypt");
        assert!(c.starts_with("v1:"));
        assert!(!c.contains("secret"));
        assert_eq!(
            v.decrypt(&c, &binding(Field::Access)).expect("decrypt"),
            "ya29.secret-token"
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_or_field_does_not_decrypt() {
        let v = Vault::in_memory();
        let c = v
            .encrypt("token", &binding(Field::Access))
            .expect("encrypt");
        let mut other_row = binding(Field::Access);
        other_row.row_id = Uuid::from_u128(3);
        assert!(matches!(
            v.decrypt(&c, &other_row),
            Err(VaultError::Decrypt)
        ));
        let mut other_org = binding(Field::Access);
        other_org.org_id = Uuid::from_u128(9);
        assert!(matches!(
            v.decrypt(&c, &other_org),
            Err(VaultError::Decrypt)
        ));
        assert!(matches!(
            v.decrypt(&c, &binding(Field::Refresh)),
            Err(VaultError::Decrypt)
        ));
        let mut other_platform = binding(Field::Access);
        other_platform.platform = Platform::Meta;
        assert!(v.decrypt(&c, &other_platform).is_err());
    }

    #[test]
    fn tampering_is_detected() {
        let v = Vault::in_memory();
        let c = v
            .encrypt("token", &binding(Field::Access))
            .expect("encrypt");
        let mut bytes = c.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("utf8");
        assert!(v.decrypt(&tampered, &binding(Field::Access)).is_err());
        assert!(matches!(
            v.decrypt("plaintext", &binding(Field::Access)),
            Err(VaultError::Format)
        ));
        assert!(matches!(
            v.decrypt("v7:AAAA", &binding(Field::Access)),
            Err(VaultError::UnknownKey(7))
        ));
    }
}
