//! Money typed by a person, read the one way every form reads it.
//!
//! People type amounts the way their locale writes them: "12,50", "1 250,00", "1,250.00",
//! "1.250,00". Each of those has one reading, and that reading is taken. An input with two
//! plausible readings ("1,250": twelve hundred and fifty, or one and a quarter?) or none
//! ("1e9", a minus sign, a control character) is refused with a message that says what to type.
//! An amount is never re-scaled: the digits typed are the digits kept.

use rust_decimal::Decimal;

use crate::types::{Currency, Money};

/// Why a typed amount was not taken; the message is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyInputError {
    #[error("Enter an amount.")]
    Empty,
    #[error(
        "Write the amount with digits only, such as 1250 or 12.50 (no letters, exponents or symbols)."
    )]
    NotDigits,
    #[error("The amount must be above zero.")]
    NotPositive,
    #[error(
        "“{typed}” could mean {thousands} or {decimal}: write {thousands_plain} or {decimal_plain}."
    )]
    Ambiguous {
        typed: String,
        thousands: String,
        decimal: String,
        thousands_plain: String,
        decimal_plain: String,
    },
    #[error(
        "The separators in “{0}” do not form a number: group thousands in threes (1,250,000.00 or 1.250.000,00) or leave them out (1250000)."
    )]
    BadGrouping(String),
    #[error("{currency} amounts have {digits} decimal place{plural}.")]
    TooManyDecimals {
        currency: Currency,
        digits: u32,
        plural: &'static str,
    },
    #[error("That is more than {max}; check the amount.")]
    TooLarge { max: String },
}

/// Largest amount accepted, in major units: a typo guard far above any real daily budget.
pub const MAX_MAJOR: i64 = 100_000_000;

fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’')
}

/// Checks that `int` (digits with `sep` between groups) is grouped in threes after the first
/// group of one to three digits, and returns the digits alone.
fn ungroup(int: &str, sep: &dyn Fn(char) -> bool) -> Option<String> {
    let groups: Vec<&str> = int.split(sep).collect();
    let first = groups.first()?;
    if first.is_empty() || first.len() > 3 && groups.len() > 1 {
        return None;
    }
    if groups[1..].iter().any(|g| g.len() != 3) {
        return None;
    }
    let digits: String = groups.concat();
    digits.chars().all(|c| c.is_ascii_digit()).then_some(digits)
}

/// Reads a typed positive amount of `currency`.
pub fn parse_money(typed: &str, currency: Currency) -> Result<Money, MoneyInputError> {
    let s = typed.trim_matches(|c: char| c.is_whitespace());
    if s.is_empty() {
        return Err(MoneyInputError::Empty);
    }
    let s = s
        .strip_suffix(currency.as_str())
        .or_else(|| s.strip_prefix(currency.as_str()))
        .map(str::trim)
        .unwrap_or(s);
    if s.starts_with('-') || s.starts_with('−') {
        return Err(MoneyInputError::NotPositive);
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.' || is_group_space(c))
        || !s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(MoneyInputError::NotDigits);
    }
    let bad = || bad_grouping(typed);
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    let decimal_sep = decimal_separator(s, typed, (commas, dots), currency)?;
    let (int, frac) = match decimal_sep {
        Some(d) => match s.rsplit_once(d) {
            Some((i, f)) => (i, f),
            None => (s, ""),
        },
        None => (s, ""),
    };
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    if decimal_sep.is_some() && frac.is_empty() {
        return Err(bad());
    }
    let group_sep = match decimal_sep {
        Some(',') => '.',
        Some(_) => ',',
        None => {
            if commas > 0 {
                ','
            } else {
                '.'
            }
        }
    };
    let int_digits = if int.is_empty() {
        "0".to_string()
    } else if int.chars().all(|c| c.is_ascii_digit()) {
        int.to_string()
    } else {
        ungroup(int, &|c| c == group_sep || is_group_space(c)).ok_or_else(bad)?
    };
    // One kind of group separator per number: "1 250.000,00" mixes two.
    let seps_used = int
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .fold((false, false), |(g, sp), c| {
            (g || c == group_sep, sp || is_group_space(c))
        });
    if seps_used.0 && seps_used.1 {
        return Err(bad());
    }
    let digits = currency.minor_unit_exponent();
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() as u32 > digits {
        return Err(MoneyInputError::TooManyDecimals {
            currency,
            digits,
            plural: if digits == 1 { "" } else { "s" },
        });
    }
    let text = if frac.is_empty() {
        int_digits
    } else {
        format!("{int_digits}.{frac}")
    };
    let amount: Decimal = text.parse().map_err(|_| bad())?;
    if amount <= Decimal::ZERO {
        return Err(MoneyInputError::NotPositive);
    }
    if amount > Decimal::from(MAX_MAJOR) {
        return Err(MoneyInputError::TooLarge {
            max: format!("{} {currency}", group_display(&MAX_MAJOR.to_string())),
        });
    }
    Money::from_major(amount, currency)
        .filter(|m| m.to_minor_units() > 0)
        .ok_or(MoneyInputError::NotPositive)
}

/// Which character separates the decimals of `s` (`None`: there are no decimals); an input
/// with two readings, or whose separators form no number, is refused.
fn decimal_separator(
    s: &str,
    typed: &str,
    (commas, dots): (usize, usize),
    currency: Currency,
) -> Result<Option<char>, MoneyInputError> {
    Ok(match (commas, dots) {
        (0, 0) => None,
        (_, 0) | (0, _) => {
            let sep = if commas > 0 { ',' } else { '.' };
            let count = commas + dots;
            if count > 1 {
                // "1,250,000" / "1.250.000": thousands only.
                None
            } else {
                let after = s.rsplit(sep).next().unwrap_or("");
                let before = s.split(sep).next().unwrap_or("");
                let before_digits = before.chars().filter(|c| c.is_ascii_digit()).count();
                if after.len() == 3
                    && before_digits >= 1
                    && !before.chars().any(is_group_space)
                    && before != "0"
                {
                    if currency.minor_unit_exponent() == 0 {
                        // No minor unit: "1,250" yen can only be twelve hundred and fifty.
                        None
                    } else {
                        let thousands = format!("{before}{after}");
                        let decimal = format!("{before}.{after}");
                        return Err(MoneyInputError::Ambiguous {
                            typed: s.to_string(),
                            thousands: group_display(&thousands),
                            decimal: decimal.clone(),
                            thousands_plain: thousands,
                            decimal_plain: decimal,
                        });
                    }
                } else {
                    Some(sep)
                }
            }
        }
        _ => {
            // Both: whichever comes last separates the decimals, once.
            let last = s.rfind([',', '.']).and_then(|i| s[i..].chars().next());
            match last {
                Some(',') if commas == 1 => Some(','),
                Some('.') if dots == 1 => Some('.'),
                _ => return Err(bad_grouping(typed)),
            }
        }
    })
}

fn bad_grouping(typed: &str) -> MoneyInputError {
    MoneyInputError::BadGrouping(typed.trim().chars().take(40).collect())
}

/// "1250000" → "1,250,000".
fn group_display(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How much bigger than its reference a budget may become before the person is asked to
/// confirm: a typo of one extra digit is ten times, a real increase rarely more than this.
pub const CONFIRM_MULTIPLE: i64 = 3;

/// Without any reference budget (a first campaign in an account), amounts above this many
/// major units (of a two-decimal currency; scaled for others) are confirmed.
const CONFIRM_FLOOR_MAJOR: i64 = 1_000;

/// Whether setting a daily budget of `new` needs a second, confirming step, given the current
/// budget of the object and the largest daily budget in its account. Returns what the amount is
/// compared with, for the message.
pub fn needs_confirmation(
    new: Money,
    current: Option<Money>,
    account_largest: Option<Money>,
) -> Option<Money> {
    let reference = match (current, account_largest) {
        (Some(c), Some(l)) => Some(if c.micros >= l.micros { c } else { l }),
        (Some(c), None) => Some(c),
        (None, l) => l,
    }
    .filter(|r| r.micros > 0 && r.currency == new.currency);
    match reference {
        Some(r) => (new.micros > r.micros.saturating_mul(CONFIRM_MULTIPLE)).then_some(r),
        None => {
            // Currencies with fewer minor digits have smaller units (yen, won): scale the floor.
            let scale = 10_i64.pow(2_u32.saturating_sub(new.currency.minor_unit_exponent()));
            let floor = Money::new(
                CONFIRM_FLOOR_MAJOR * scale * crate::types::MICROS_PER_UNIT,
                new.currency,
            );
            (new.micros > floor.micros).then_some(floor)
        }
    }
}

/// The major-unit text of an amount as the form should carry it into the confirming step
/// ("1250.5"): plain digits with a dot, so it reads back exactly.
pub fn plain(m: Money) -> String {
    m.to_major().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        "USD".parse().unwrap_or_else(|_| unreachable!())
    }
    fn jpy() -> Currency {
        "JPY".parse().unwrap_or_else(|_| unreachable!())
    }
    fn micros(s: &str) -> Result<i64, MoneyInputError> {
        parse_money(s, usd()).map(|m| m.micros)
    }

    #[test]
    fn locale_forms_read_as_written() {
        for (typed, want) in [
            ("12,50", 12_500_000),
            ("12.50", 12_500_000),
            ("12.5", 12_500_000),
            ("1 250,00", 1_250_000_000),
            ("1\u{a0}250,00", 1_250_000_000),
            ("1,250.00", 1_250_000_000),
            ("1.250,00", 1_250_000_000),
            ("1'250.00", 1_250_000_000),
            ("1,250,000", 1_250_000_000_000),
            ("1.250.000", 1_250_000_000_000),
            ("1250", 1_250_000_000),
            ("50", 50_000_000),
            ("0,99", 990_000),
            (" 25 USD ", 25_000_000),
            ("+25", 25_000_000),
            ("0.250", 250_000),
        ] {
            assert_eq!(micros(typed), Ok(want), "{typed:?}");
        }
    }

    #[test]
    fn odd_or_ambiguous_input_is_refused_never_rescaled() {
        assert!(matches!(
            micros("1,250"),
            Err(MoneyInputError::Ambiguous { .. })
        ));
        assert!(matches!(
            micros("1.250"),
            Err(MoneyInputError::Ambiguous { .. })
        ));
        assert_eq!(micros("1e9"), Err(MoneyInputError::NotDigits));
        assert_eq!(micros("12\0"), Err(MoneyInputError::NotDigits));
        assert_eq!(micros("-5"), Err(MoneyInputError::NotPositive));
        assert_eq!(micros("0"), Err(MoneyInputError::NotPositive));
        assert_eq!(micros(""), Err(MoneyInputError::Empty));
        assert_eq!(micros("$5"), Err(MoneyInputError::NotDigits));
        assert!(matches!(
            micros("12.505"),
            Err(MoneyInputError::Ambiguous { .. })
        ));
        assert!(matches!(
            micros("12.5055"),
            Err(MoneyInputError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            micros("1,25,0"),
            Err(MoneyInputError::BadGrouping(_))
        ));
        assert!(matches!(
            micros("1.250.00"),
            Err(MoneyInputError::BadGrouping(_))
        ));
        assert!(matches!(
            micros("1,250.000,00"),
            Err(MoneyInputError::BadGrouping(_))
        ));
        assert!(matches!(
            micros("12,"),
            Err(MoneyInputError::BadGrouping(_))
        ));
        assert!(matches!(
            micros("1000000000"),
            Err(MoneyInputError::TooLarge { .. })
        ));
        assert!(matches!(
            micros("0.001"),
            Err(MoneyInputError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn a_currency_without_minor_units_takes_groups_of_three_as_thousands() {
        assert_eq!(
            parse_money("1,250", jpy()).map(|m| m.micros),
            Ok(1_250_000_000)
        );
        assert!(matches!(
            parse_money("12,5", jpy()),
            Err(MoneyInputError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn big_jumps_ask_first() {
        let m = |major: i64| Money::new(major * 1_000_000, usd());
        assert_eq!(needs_confirmation(m(30), Some(m(10)), None), None);
        assert_eq!(needs_confirmation(m(31), Some(m(10)), None), Some(m(10)));
        assert_eq!(needs_confirmation(m(31), Some(m(10)), Some(m(50))), None);
        assert_eq!(
            needs_confirmation(m(5_000_000), None, Some(m(500))),
            Some(m(500))
        );
        assert_eq!(needs_confirmation(m(900), None, None), None);
        assert!(needs_confirmation(m(5_000_000), None, None).is_some());
    }
}
