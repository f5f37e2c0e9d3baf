//! ISO 4217 currency codes a rule may name.
//!
//! Kept here rather than taking a currency crate: the language needs only "is this a code, and
//! which code is nearest", a list of ~160 strings, and the server's `Currency` type stays as it
//! is (accounts report their codes; only people mistype them).

use super::ast::Pos;
use super::diagnostic::Diagnostic;
use super::suggest::{closest, did_you_mean};
use crate::types::Currency;

/// Active codes (ISO 4217, list one), without precious metals, fund and testing codes.
pub const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// The currency for `text` (any case), or an error at `at` naming the nearest codes.
pub fn iso_currency(text: &str, at: Pos) -> Result<Currency, Diagnostic> {
    let upper = text.to_ascii_uppercase();
    if CODES.contains(&upper.as_str())
        && let Ok(c) = upper.parse::<Currency>()
    {
        return Ok(c);
    }
    let near = closest(&upper, CODES.iter().copied());
    // A three-letter word is within reach of dozens of codes; name only one-letter slips.
    let near: Vec<&str> = near
        .into_iter()
        .filter(|c| strsim::damerau_levenshtein(&upper, c) <= 1)
        .collect();
    // Two letters swapped (UDS for USD) is the usual slip; prefer it to a wrong letter (UZS).
    let letters = |s: &str| {
        let mut v: Vec<char> = s.chars().collect();
        v.sort_unstable();
        v
    };
    let swapped: Vec<&str> = near
        .iter()
        .copied()
        .filter(|c| letters(c) == letters(&upper))
        .collect();
    let near = if swapped.is_empty() { near } else { swapped };
    let d = Diagnostic::error(at, format!("\"{text}\" is not an ISO 4217 currency code"));
    Err(match did_you_mean(&near) {
        Some(h) => d.with_help(h.replace('"', "")),
        None => d.with_help(
            "write a currency code such as USD, EUR or GBP, or no currency (the account's own)",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_code_names_the_one_meant() {
        let e = iso_currency("UDS", Pos { line: 1, col: 1 }).expect_err("not a code");
        assert_eq!(e.help.as_deref(), Some("did you mean USD?"));
        assert_eq!(
            iso_currency("eur", Pos::default()).map(|c| c.to_string()),
            Ok("EUR".into())
        );
    }
}
