//! The Internet checksum (RFC 1071) as 32-bit partial sums, so a template's constant part is
//! summed once and each packet adds only its own fields (RFC 1624's incremental idea).

/// Adds big-endian 16-bit words of `bytes` to `sum` (an odd last byte is padded with zero).
pub fn add_bytes(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

pub fn add_u32(sum: u32, v: u32) -> u32 {
    sum + (v >> 16) + (v & 0xffff)
}

/// Folds the carries and complements: the value to write into a checksum field.
pub fn finish(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d).
        let sum = add_bytes(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(finish(sum), !0xddf2);
    }

    #[test]
    fn split_sums_equal_one_sum() {
        let data: Vec<u8> = (0..=255).collect();
        let whole = finish(add_bytes(0, &data));
        let parts = finish(add_bytes(add_bytes(0, &data[..100]), &data[100..]));
        assert_eq!(whole, parts);
        assert_eq!(
            finish(add_u32(0, 0x1234_5678)),
            finish(add_bytes(0, &[0x12, 0x34, 0x56, 0x78]))
        );
    }
}
