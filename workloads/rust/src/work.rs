//! The shared per-task work function (PROTOCOL.md, "Work function").

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's finaliser: wrapping 64-bit arithmetic, same in every language.
#[inline]
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What task `index` computes; its result is added (wrapping) to the checksum.
#[inline]
pub fn work(index: u64, rounds: u64) -> u64 {
    let mut x = index;
    for _ in 0..rounds {
        x = mix(x);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_vectors_match_protocol() {
        assert_eq!(work(0, 0), 0);
        assert_eq!(work(7, 0), 7);
        assert_eq!(work(0, 1), 0xe220a8397b1dcdaf);
        assert_eq!(work(1, 1), 0x910a2dec89025cc1);
        assert_eq!(work(12345, 100), 0xd19c70d5f6532370);
    }

    #[test]
    fn checksum_vector_matches_protocol() {
        let sum = (0..1000u64).fold(0u64, |acc, i| acc.wrapping_add(work(i, 100)));
        assert_eq!(sum, 0x3a8439e46579c231);
    }
}
