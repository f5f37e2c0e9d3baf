//! argon2id password hashing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LENGTH: usize = 10;

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a new password is refused, or None when it is acceptable.
pub fn weakness(password: &str, email: &str) -> Option<String> {
    if password.chars().count() < MIN_LENGTH {
        return Some(format!("Use at least {MIN_LENGTH} characters."));
    }
    if password.chars().count() > 200 {
        return Some("Use at most 200 characters.".into());
    }
    if !email.is_empty() && password.eq_ignore_ascii_case(email) {
        return Some("The password must not be your email address.".into());
    }
    None
}

pub fn hash(password: &str) -> Result<String, super::AuthError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| super::AuthError::Internal(format!("salt: {e}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| super::AuthError::Internal(format!("password hashing failed: {e}")))
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Burns the same time as a real verification, so an unknown email answers as slowly as a
/// wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_reject() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_weak() {
        assert!(weakness("short", "a@b.c").is_some());
        assert!(weakness("long enough pw", "a@b.c").is_none());
        assert!(weakness("me@example.com", "me@example.com").is_some());
    }
}
