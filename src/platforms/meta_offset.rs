//! Meta's currency offsets: budgets and bids are integers in a unit Meta chooses per currency,
//! which is not always the ISO 4217 minor unit (HUF, TWD, COP, CRC, IDR have cents in ISO but
//! whole units at Meta). Source: Meta's "Currencies" reference (Marketing API), offset column;
//! every currency not listed there with offset 1 has offset 100.

use crate::types::{Currency, MICROS_PER_UNIT, Money};

/// Currencies Meta counts in whole units (offset 1).
const WHOLE_UNITS: &[&str] = &[
    "CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND",
];

/// Meta's offset for `currency`: 1 or 100.
pub fn offset(currency: Currency) -> i64 {
    if WHOLE_UNITS.contains(&currency.as_str()) {
        1
    } else {
        100
    }
}

/// Micros in one of Meta's budget units of `currency`.
pub fn micros_per_unit(currency: Currency) -> i64 {
    MICROS_PER_UNIT / offset(currency)
}

/// An amount in Meta's budget units, rounded half away from zero.
pub fn to_units(money: Money) -> i64 {
    let per = micros_per_unit(money.currency);
    let q = money.micros / per;
    let r = money.micros % per;
    if r.abs() * 2 >= per {
        q + money.micros.signum()
    } else {
        q
    }
}

/// An amount from Meta's budget units; None when it does not fit.
pub fn from_units(units: i64, currency: Currency) -> Option<Money> {
    units
        .checked_mul(micros_per_unit(currency))
        .map(|m| Money::new(m, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(s: &str) -> Currency {
        s.parse().expect("currency")
    }

    #[test]
    fn offsets_follow_metas_table_not_iso() {
        assert_eq!(offset(cur("USD")), 100);
        assert_eq!(offset(cur("JPY")), 1);
        // ISO gives HUF two decimals; Meta counts whole forints.
        assert_eq!(offset(cur("HUF")), 1);
        assert_eq!(to_units(Money::new(5_000_000_000, cur("HUF"))), 5000);
        assert_eq!(to_units(Money::new(50_250_000, cur("USD"))), 5025);
        assert_eq!(
            from_units(5000, cur("TWD")),
            Some(Money::new(5_000_000_000, cur("TWD")))
        );
        // Three-decimal currencies still use 100 at Meta.
        assert_eq!(to_units(Money::new(1_234_500, cur("KWD"))), 123);
    }
}
