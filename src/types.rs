//! Small shared value types used across modules: platforms, currencies and exact money.
//!
//! Money is never `f64`: amounts are integer micros (1 unit = 1,000,000 micros) plus the ISO
//! currency of the ad account they belong to. Nothing here sums two currencies.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The ad platforms adpilot speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Google,
    Meta,
    Tiktok,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Google, Platform::Meta, Platform::Tiktok];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Google => "google",
            Platform::Meta => "meta",
            Platform::Tiktok => "tiktok",
        }
    }

    /// The name people read on a page.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Google => "Google Ads",
            Platform::Meta => "Meta Ads",
            Platform::Tiktok => "TikTok Ads",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform \"{0}\": expected google, meta or tiktok")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "google" => Ok(Platform::Google),
            "meta" => Ok(Platform::Meta),
            "tiktok" => Ok(Platform::Tiktok),
            _ => Err(UnknownPlatform(s.to_string())),
        }
    }
}

/// An ISO 4217 currency code, upper case, three ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a currency code: expected three letters such as USD or EUR")]
pub struct BadCurrency(pub String);

impl Currency {
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in the currency's minor unit (ISO 4217).
    /// Currencies without a minor unit (JPY, KRW, ...) have 0.
    pub fn minor_unit_exponent(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = BadCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() == 3 && b.iter().all(|c| c.is_ascii_alphabetic()) {
            Ok(Currency([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(BadCurrency(s.to_string()))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An exact amount of money: integer micros of `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub micros: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(micros: i64, currency: Currency) -> Self {
        Money { micros, currency }
    }

    /// From a decimal amount in major units (e.g. "14.35"); sub-micro digits are rounded
    /// half away from zero.
    pub fn from_major(amount: Decimal, currency: Currency) -> Option<Self> {
        let micros = (amount * Decimal::from(MICROS_PER_UNIT))
            .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(micros).ok().map(|m| Money::new(m, currency))
    }

    /// The amount in major units, exact.
    pub fn to_major(&self) -> Decimal {
        Decimal::new(self.micros, 6).normalize()
    }

    /// The amount in the currency's minor units (cents; whole yen for JPY), rounded half away
    /// from zero.
    pub fn to_minor_units(&self) -> i64 {
        let per_minor = MICROS_PER_UNIT / 10_i64.pow(self.currency.minor_unit_exponent());
        let q = self.micros / per_minor;
        let r = self.micros % per_minor;
        if r.abs() * 2 >= per_minor {
            q + self.micros.signum()
        } else {
            q
        }
    }

    pub fn from_minor_units(minor: i64, currency: Currency) -> Option<Self> {
        let per_minor = MICROS_PER_UNIT / 10_i64.pow(currency.minor_unit_exponent());
        minor
            .checked_mul(per_minor)
            .map(|m| Money::new(m, currency))
    }

    /// "1,234.50 USD" style display with the currency's own number of decimals.
    pub fn display(&self) -> String {
        format_major(self.micros, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Formats micros as a grouped decimal with the currency's number of minor digits, followed by
/// the currency code ("1,234.50 USD").
pub fn format_major(micros: i64, currency: Currency) -> String {
    format!("{} {currency}", format_amount(micros, currency))
}

/// Like [`format_major`] without the currency code ("1,234.50"), for tables whose column
/// already says the currency.
pub fn format_amount(micros: i64, currency: Currency) -> String {
    let digits = currency.minor_unit_exponent();
    let d = Decimal::new(micros, 6)
        .round_dp_with_strategy(digits, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let s = format!("{:.*}", digits as usize, d);
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest.to_string()),
        None => ("", s),
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Currency {
        s.parse().expect("currency")
    }

    #[test]
    fn minor_units_follow_the_currency_exponent() {
        let usd = Money::from_major(Decimal::new(5000, 2), c("usd")).expect("money");
        assert_eq!(usd.to_minor_units(), 5000);
        let jpy = Money::from_major(Decimal::new(5000, 0), c("JPY")).expect("money");
        assert_eq!(jpy.to_minor_units(), 5000);
        assert_eq!(
            Money::from_minor_units(7000, c("USD")).map(|m| m.micros),
            Some(70_000_000)
        );
        assert_eq!(
            Money::from_minor_units(7000, c("JPY")).map(|m| m.micros),
            Some(7_000_000_000)
        );
    }

    #[test]
    fn display_groups_thousands_and_keeps_currency_digits() {
        assert_eq!(
            Money::new(1_234_500_000, c("USD")).display(),
            "1,234.50 USD"
        );
        assert_eq!(Money::new(1_234_500_000, c("JPY")).display(), "1,235 JPY");
        assert_eq!(Money::new(-5_000_000, c("EUR")).display(), "-5.00 EUR");
    }

    #[test]
    fn bad_currency_and_platform_say_what_is_expected() {
        assert!("EURO".parse::<Currency>().is_err());
        let e = "yahoo".parse::<Platform>().expect_err("bad platform");
        assert!(e.to_string().contains("google, meta or tiktok"));
    }
}
