//! Exact numbers with the contract's division rule: x/0 is +infinity when x > 0 (−infinity when
//! x < 0) and undefined when x = 0; a comparison with an undefined side is false.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::automation::language::ast::{BinOp, CmpOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Num(Decimal),
    PosInf,
    NegInf,
    Undefined,
}

impl Value {
    fn sign(self) -> Option<Ordering> {
        match self {
            Value::Num(d) => Some(d.cmp(&Decimal::ZERO)),
            Value::PosInf => Some(Ordering::Greater),
            Value::NegInf => Some(Ordering::Less),
            Value::Undefined => None,
        }
    }

    fn inf(sign: Ordering) -> Value {
        match sign {
            Ordering::Greater => Value::PosInf,
            Ordering::Less => Value::NegInf,
            Ordering::Equal => Value::Undefined,
        }
    }

    pub fn negate(self) -> Value {
        match self {
            Value::Num(d) => Value::Num(-d),
            Value::PosInf => Value::NegInf,
            Value::NegInf => Value::PosInf,
            Value::Undefined => Value::Undefined,
        }
    }

    pub fn apply(self, op: BinOp, rhs: Value) -> Value {
        use Value::*;
        match op {
            BinOp::Sub => self.apply(BinOp::Add, rhs.negate()),
            BinOp::Add => match (self, rhs) {
                (Undefined, _) | (_, Undefined) => Undefined,
                (Num(a), Num(b)) => a
                    .checked_add(b)
                    .map(Num)
                    .unwrap_or_else(|| Value::inf(a.cmp(&Decimal::ZERO))),
                (PosInf, NegInf) | (NegInf, PosInf) => Undefined,
                (PosInf, _) | (_, PosInf) => PosInf,
                (NegInf, _) | (_, NegInf) => NegInf,
            },
            BinOp::Mul => match (self, rhs) {
                (Num(a), Num(b)) => a.checked_mul(b).map(Num).unwrap_or_else(|| {
                    Value::inf(mul_signs(a.cmp(&Decimal::ZERO), b.cmp(&Decimal::ZERO)))
                }),
                (a, b) => match (a.sign(), b.sign()) {
                    (Some(x), Some(y)) => Value::inf(mul_signs(x, y)),
                    _ => Undefined,
                },
            },
            BinOp::Div => match (self, rhs) {
                (Undefined, _) | (_, Undefined) => Undefined,
                (Num(a), Num(b)) if b.is_zero() => Value::inf(a.cmp(&Decimal::ZERO)),
                (Num(a), Num(b)) => a.checked_div(b).map(Num).unwrap_or_else(|| {
                    Value::inf(mul_signs(a.cmp(&Decimal::ZERO), b.cmp(&Decimal::ZERO)))
                }),
                (Num(_), PosInf | NegInf) => Num(Decimal::ZERO),
                (PosInf | NegInf, PosInf | NegInf) => Undefined,
                (inf, Num(b)) => match (inf.sign(), b.cmp(&Decimal::ZERO)) {
                    (Some(s), Ordering::Equal) => Value::inf(s),
                    (Some(s), bs) => Value::inf(mul_signs(s, bs)),
                    (None, _) => Undefined,
                },
            },
        }
    }

    /// The comparison's truth; false whenever a side is undefined.
    pub fn compare(self, op: CmpOp, rhs: Value) -> bool {
        let ord = match (self, rhs) {
            (Value::Undefined, _) | (_, Value::Undefined) => return false,
            (Value::Num(a), Value::Num(b)) => a.cmp(&b),
            (a, b) => rank(a).cmp(&rank(b)),
        };
        match op {
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
        }
    }

    /// Text for logs and JSON: a decimal (at most 6 decimals), "inf", "-inf"; `None` when
    /// undefined.
    pub fn to_text(self) -> Option<String> {
        match self {
            Value::Num(d) => Some(
                d.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                    .normalize()
                    .to_string(),
            ),
            Value::PosInf => Some("inf".to_string()),
            Value::NegInf => Some("-inf".to_string()),
            Value::Undefined => None,
        }
    }
}

fn rank(v: Value) -> i8 {
    match v {
        Value::NegInf => -1,
        Value::PosInf => 1,
        _ => 0,
    }
}

fn mul_signs(a: Ordering, b: Ordering) -> Ordering {
    match (a, b) {
        (Ordering::Equal, _) | (_, Ordering::Equal) => Ordering::Equal,
        (x, y) if x == y => Ordering::Greater,
        _ => Ordering::Less,
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.to_text() {
            Some(t) => s.serialize_str(&t),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: i64) -> Value {
        Value::Num(Decimal::from(v))
    }

    #[test]
    fn dividing_something_by_zero_is_infinite_and_nothing_by_zero_is_undefined() {
        assert_eq!(n(120).apply(BinOp::Div, n(0)), Value::PosInf);
        assert_eq!(n(0).apply(BinOp::Div, n(0)), Value::Undefined);
        assert!(Value::PosInf.compare(CmpOp::Gt, n(50)));
        assert!(!Value::Undefined.compare(CmpOp::Gt, n(50)));
        assert!(!Value::Undefined.compare(CmpOp::Le, n(50)));
        assert!(!n(1).compare(CmpOp::Ne, Value::Undefined));
    }

    #[test]
    fn infinity_times_zero_is_undefined_and_scaled_infinity_stays_infinite() {
        assert_eq!(Value::PosInf.apply(BinOp::Mul, n(0)), Value::Undefined);
        assert_eq!(
            Value::Num(Decimal::new(7, 1)).apply(BinOp::Mul, Value::PosInf),
            Value::PosInf
        );
        assert_eq!(n(5).apply(BinOp::Div, Value::PosInf), n(0));
        assert_eq!(
            Value::PosInf.apply(BinOp::Sub, Value::PosInf),
            Value::Undefined
        );
    }

    #[test]
    fn overflow_becomes_infinity_instead_of_panicking() {
        let big = Value::Num(Decimal::MAX);
        assert_eq!(big.apply(BinOp::Mul, n(10)), Value::PosInf);
        assert_eq!(big.apply(BinOp::Add, big), Value::PosInf);
        assert_eq!(big.negate().apply(BinOp::Mul, n(10)), Value::NegInf);
    }
}
