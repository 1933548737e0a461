//! The cursor state as a resume file holds it: the next position as a number, the pending
//! positions compactly — sorted, each the difference from the one before as a LEB128
//! varint, in base64. Pending positions are the ones handed out in the last timeout or so,
//! close together: about one byte each instead of a decimal number and a comma (an
//! interrupted /16 × 5 ports scan at 100k probes/s has some 100,000 of them).

use crate::cursor::CursorState;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
struct Saved {
    next_position: u64,
    /// How many pending positions `pending` holds (a check of the encoding).
    pending_count: u64,
    pending: String,
}

/// The pending positions, encoded (any order in, sorted out; repeats kept).
pub fn encode(pending: &[u64]) -> String {
    let mut sorted = pending.to_vec();
    sorted.sort_unstable();
    let mut bytes = Vec::with_capacity(sorted.len() + 8);
    let mut prev = 0u64;
    for p in sorted {
        let mut d = p - prev;
        prev = p;
        while d >= 0x80 {
            bytes.push((d as u8) | 0x80);
            d >>= 7;
        }
        bytes.push(d as u8);
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The positions `encode` wrote, or what is wrong with the text.
pub fn decode(text: &str) -> Result<Vec<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("pending positions: not base64 ({e})"))?;
    let mut out = Vec::new();
    let mut prev = 0u64;
    let mut d = 0u64;
    let mut shift = 0u32;
    for b in bytes {
        if shift >= 64 || (shift == 63 && b > 1) {
            return Err("pending positions: a number beyond 64 bits".into());
        }
        d |= u64::from(b & 0x7f) << shift;
        if b & 0x80 != 0 {
            shift += 7;
            continue;
        }
        prev = prev
            .checked_add(d)
            .ok_or("pending positions: a position beyond 64 bits")?;
        out.push(prev);
        (d, shift) = (0, 0);
    }
    if shift != 0 {
        return Err("pending positions: cut short".into());
    }
    Ok(out)
}

pub fn serialize<S: Serializer>(state: &CursorState, s: S) -> Result<S::Ok, S::Error> {
    Saved {
        next_position: state.next_position,
        pending_count: state.pending.len() as u64,
        pending: encode(&state.pending),
    }
    .serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CursorState, D::Error> {
    let saved = Saved::deserialize(d)?;
    let pending = decode(&saved.pending).map_err(serde::de::Error::custom)?;
    if pending.len() as u64 != saved.pending_count {
        return Err(serde::de::Error::custom(format!(
            "pending positions: {} where pending_count says {}",
            pending.len(),
            saved.pending_count
        )));
    }
    Ok(CursorState {
        next_position: saved.next_position,
        pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(256)))]

        #[test]
        fn positions_come_back_sorted(mut p in proptest::collection::vec(any::<u64>(), 0..200)) {
            let back = decode(&encode(&p)).unwrap();
            p.sort_unstable();
            prop_assert_eq!(back, p);
        }

        #[test]
        fn no_text_makes_decoding_panic(t in ".{0,40}", b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode(&t);
            let _ = decode(&base64::engine::general_purpose::STANDARD.encode(b));
        }
    }

    #[test]
    fn close_positions_take_about_a_byte_each() {
        // 100,000 pending among the last 150,000 handed out of a /16 × 5 ports scan.
        let p: Vec<u64> = (0..150_000u64)
            .filter(|i| i % 3 != 1)
            .map(|i| 170_000 + i)
            .collect();
        let text = encode(&p);
        assert!(text.len() < 140_000, "{}", text.len());
        assert_eq!(decode(&text).unwrap(), p);
        assert!(decode("gA==").unwrap_err().contains("cut short"));
        let too_big = base64::engine::general_purpose::STANDARD.encode([0xff; 10]);
        assert!(decode(&too_big).is_err());
    }
}
