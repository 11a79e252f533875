//! Group numbers and the bitmaps that hold them: the kernel's `test_bit`
//! arithmetic, and the three shapes a membership bitmap takes on its way
//! between the kernel and user space.
//!
//! Groups are numbered from 1; group `g` is bit `g - 1` of a bitmap. The
//! shapes:
//!
//! - `nl_groups` of `struct sockaddr_nl`: one `u32`, so groups 1 to 32 only.
//! - the kernel's `nlk->groups` (one socket's groups) and `listeners->masks`
//!   (every listener of a protocol): arrays of `unsigned long`, read with
//!   `test_bit(g - 1, map)`, i.e. word `(g - 1) / BITS_PER_LONG`, bit
//!   `(g - 1) % BITS_PER_LONG`. `BITS_PER_LONG` is 64 on x86_64, 32 on i386.
//! - what user space reads: `NETLINK_LIST_MEMBERSHIPS` converts the longs
//!   into `u32` words with shifts, so it is the same on every machine;
//!   `NETLINK_DIAG_GROUPS` copies the longs' memory as it is, so it must be
//!   read back as the kernel's `unsigned long`s.

use std::collections::BTreeSet;
use std::fmt;

use nlbook_common::{Malformed, Problem};

/// The bits in one word of the `u32` view (`nl_groups`,
/// `NETLINK_LIST_MEMBERSHIPS`, `/proc/net/netlink`).
pub const U32_BITS: u32 = 32;

/// How wide the kernel's `unsigned long` is: `BITS_PER_LONG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongBits {
    /// 32-bit kernels (i386, arm).
    L32,
    /// 64-bit kernels (x86_64, arm64).
    L64,
}

impl LongBits {
    /// `BITS_PER_LONG`.
    pub const fn bits(self) -> u32 {
        match self {
            LongBits::L32 => 32,
            LongBits::L64 => 64,
        }
    }

    /// `sizeof(unsigned long)`.
    pub const fn bytes(self) -> usize {
        (self.bits() / 8) as usize
    }
}

/// The byte order of the kernel's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// x86, arm64, riscv.
    Little,
    /// s390x, some powerpc and mips.
    Big,
}

/// How the kernel lays out an `unsigned long` in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongLayout {
    /// Its width.
    pub bits: LongBits,
    /// Its byte order.
    pub endian: Endian,
}

impl LongLayout {
    /// The layout of the machine this program runs on, which is the
    /// kernel's: a program and its kernel share the word size and byte
    /// order (a 32-bit program on a 64-bit kernel aside, which this
    /// workbook does not build).
    pub const HOST: LongLayout = LongLayout {
        bits: if std::mem::size_of::<libc::c_ulong>() == 8 {
            LongBits::L64
        } else {
            LongBits::L32
        },
        endian: if cfg!(target_endian = "little") {
            Endian::Little
        } else {
            Endian::Big
        },
    };
}

// ANCHOR: test_bit
/// Where `test_bit(nr, map)` looks for bit `nr`: which word of the array,
/// which bit of that word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitPosition {
    /// Index into the array of words.
    pub word: usize,
    /// Bit within that word, 0 = least significant.
    pub bit: u32,
}

/// The bit number of `group`: `group - 1`. Group 0 does not exist (the
/// kernel refuses it: `if (!val || val - 1 >= nlk->ngroups) return -EINVAL`).
pub const fn bit_number(group: u32) -> Option<u32> {
    group.checked_sub(1)
}

/// Where the kernel finds `group` in an array of `unsigned long`s of width
/// `bits`: `test_bit(group - 1, map)` reads word `nr / BITS_PER_LONG`, bit
/// `nr % BITS_PER_LONG` (`BIT_WORD` and `BIT_MASK` in
/// `include/linux/bits.h`).
pub const fn kernel_position(group: u32, bits: LongBits) -> Option<BitPosition> {
    match bit_number(group) {
        Some(nr) => Some(BitPosition {
            word: (nr / bits.bits()) as usize,
            bit: nr % bits.bits(),
        }),
        None => None,
    }
}

/// Where user space finds `group` in the `u32` words of
/// `NETLINK_LIST_MEMBERSHIPS`: the same arithmetic with 32-bit words, on
/// every machine.
pub const fn u32_position(group: u32) -> Option<BitPosition> {
    kernel_position(group, LongBits::L32)
}

/// The bit of `group` in `nl_groups` (`bind()`, `sendto()`,
/// `/proc/net/netlink`): only groups 1 to 32 have one.
pub const fn nl_groups_bit(group: u32) -> Option<u32> {
    nlbook_common::membership::group_mask(group)
}

/// `test_bit(nr, map)` on an array of `unsigned long`s of width `bits`
/// (each held in a `u64`; a 32-bit word uses the low half). A bit past the
/// end of the array is not set, as `netlink_has_listeners` and
/// `do_one_broadcast` make sure by comparing with the number of groups
/// first.
pub fn test_bit(nr: u32, map: &[u64], bits: LongBits) -> bool {
    let word = (nr / bits.bits()) as usize;
    let bit = nr % bits.bits();
    map.get(word).is_some_and(|w| w >> bit & 1 == 1)
}
// ANCHOR_END: test_bit

/// `NLGRPSZ(ngroups)` (`net/netlink/af_netlink.h`): the bytes of a bitmap
/// for `ngroups` groups, rounded up to whole `unsigned long`s. It is the
/// length of `NETLINK_DIAG_GROUPS`.
pub const fn nlgrpsz(ngroups: u32, bits: LongBits) -> usize {
    (ngroups.div_ceil(bits.bits()) * bits.bits() / 8) as usize
}

/// The length `NETLINK_LIST_MEMBERSHIPS` reports for `ngroups` groups:
/// `ALIGN(BITS_TO_BYTES(ngroups), sizeof(u32))`, whole `u32`s.
pub const fn list_memberships_len(ngroups: u32) -> usize {
    (ngroups.div_ceil(U32_BITS) * 4) as usize
}

/// A set of group numbers, each 1 or more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups(BTreeSet<u32>);

impl Groups {
    /// No group.
    pub fn new() -> Self {
        Groups(BTreeSet::new())
    }

    /// The groups listed; 0 is not a group and is left out.
    pub fn of(groups: impl IntoIterator<Item = u32>) -> Self {
        Groups(groups.into_iter().filter(|&g| g != 0).collect())
    }

    /// Whether `group` is in the set.
    pub fn contains(&self, group: u32) -> bool {
        self.0.contains(&group)
    }

    /// The groups, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    // ANCHOR: u32_words
    /// Decode `u32` words, as `NETLINK_LIST_MEMBERSHIPS` returns them: bit
    /// `b` of word `w` is group `w * 32 + b + 1`.
    pub fn from_u32_words(words: &[u32]) -> Self {
        Groups::of(nlbook_common::membership::groups_in_bitmap(words))
    }

    /// The `u32` words for `ngroups` groups; groups above `ngroups` are
    /// left out, as the kernel has no bit for them.
    pub fn to_u32_words(&self, ngroups: u32) -> Vec<u32> {
        let mut words = vec![0u32; ngroups.div_ceil(U32_BITS) as usize];
        for g in self.iter().filter(|&g| g <= ngroups) {
            if let Some(p) = u32_position(g) {
                words[p.word] |= 1 << p.bit;
            }
        }
        words
    }
    // ANCHOR_END: u32_words

    /// The low 32 groups as one word: what `nl_groups` and the `Groups`
    /// column of `/proc/net/netlink` (`(u32)nlk->groups[0]`) can show.
    pub fn low_word(&self) -> u32 {
        self.iter().filter_map(nl_groups_bit).fold(0, |m, b| m | b)
    }

    // ANCHOR: kernel_longs
    /// Decode a copy of the kernel's `unsigned long` array laid out as
    /// `layout` says, such as the payload of `NETLINK_DIAG_GROUPS`
    /// (`nla_put(skb, NETLINK_DIAG_GROUPS, NLGRPSZ(nlk->ngroups),
    /// nlk->groups)` in `net/netlink/diag.c`). `offset` is where `bytes`
    /// start in the buffer being decoded, for the error.
    pub fn from_kernel_longs(
        bytes: &[u8],
        layout: LongLayout,
        offset: usize,
    ) -> Result<Self, Malformed> {
        let size = layout.bits.bytes();
        if !bytes.len().is_multiple_of(size) {
            return Err(Malformed {
                what: "NETLINK_DIAG_GROUPS",
                offset,
                problem: Problem::Invalid(format!(
                    "{} bytes are not a whole number of {size}-byte unsigned longs",
                    bytes.len()
                )),
            });
        }
        let mut groups = BTreeSet::new();
        for (w, chunk) in (0u32..).zip(bytes.chunks_exact(size)) {
            let word = long_from_bytes(chunk, layout.endian);
            for b in 0..layout.bits.bits() {
                if word >> b & 1 == 1 {
                    groups.insert(w * layout.bits.bits() + b + 1);
                }
            }
        }
        Ok(Groups(groups))
    }

    /// The memory of the kernel's bitmap for `ngroups` groups, laid out as
    /// `layout` says: what `NETLINK_DIAG_GROUPS` carries.
    pub fn to_kernel_longs(&self, ngroups: u32, layout: LongLayout) -> Vec<u8> {
        let size = layout.bits.bytes();
        let mut longs = vec![0u64; nlgrpsz(ngroups, layout.bits) / size];
        for g in self.iter().filter(|&g| g <= ngroups) {
            if let Some(p) = kernel_position(g, layout.bits) {
                longs[p.word] |= 1 << p.bit;
            }
        }
        longs
            .iter()
            .flat_map(|&w| long_to_bytes(w, size, layout.endian))
            .collect()
    }
    // ANCHOR_END: kernel_longs
}

/// One `unsigned long` of `bytes.len()` (4 or 8) bytes.
fn long_from_bytes(bytes: &[u8], endian: Endian) -> u64 {
    let fold = |acc: u64, &b: &u8| acc << 8 | u64::from(b);
    match endian {
        Endian::Big => bytes.iter().fold(0, fold),
        Endian::Little => bytes.iter().rev().fold(0, fold),
    }
}

/// The `size` (4 or 8) bytes of `word`.
fn long_to_bytes(word: u64, size: usize, endian: Endian) -> Vec<u8> {
    let le = word.to_le_bytes();
    let mut bytes = le[..size].to_vec();
    if endian == Endian::Big {
        bytes.reverse();
    }
    bytes
}

impl fmt::Display for Groups {
    /// `1,36`, or `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        let list: Vec<String> = self.iter().map(|g| g.to_string()).collect();
        f.write_str(&list.join(","))
    }
}

/// `u32` words as `NETLINK_LIST_MEMBERSHIPS` returns them, in hex, word 0
/// first: `00000001 00000008`.
pub fn hex_words(words: &[u32]) -> String {
    let list: Vec<String> = words.iter().map(|w| format!("{w:08x}")).collect();
    list.join(" ")
}

/// Bytes in hex, four to a group: `01000000 08000000`.
pub fn hex_bytes(bytes: &[u8]) -> String {
    let list: Vec<String> = bytes
        .chunks(4)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    list.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LE64: LongLayout = LongLayout {
        bits: LongBits::L64,
        endian: Endian::Little,
    };
    const BE64: LongLayout = LongLayout {
        bits: LongBits::L64,
        endian: Endian::Big,
    };
    const LE32: LongLayout = LongLayout {
        bits: LongBits::L32,
        endian: Endian::Little,
    };
    const BE32: LongLayout = LongLayout {
        bits: LongBits::L32,
        endian: Endian::Big,
    };

    fn pos(word: usize, bit: u32) -> Option<BitPosition> {
        Some(BitPosition { word, bit })
    }

    #[test]
    fn group_zero_has_no_bit() {
        assert_eq!(bit_number(0), None);
        assert_eq!(kernel_position(0, LongBits::L64), None);
        assert_eq!(u32_position(0), None);
        assert_eq!(nl_groups_bit(0), None);
    }

    #[test]
    fn kernel_positions_on_64_bit_longs() {
        assert_eq!(kernel_position(1, LongBits::L64), pos(0, 0));
        assert_eq!(kernel_position(32, LongBits::L64), pos(0, 31));
        assert_eq!(kernel_position(33, LongBits::L64), pos(0, 32));
        assert_eq!(kernel_position(64, LongBits::L64), pos(0, 63));
        assert_eq!(kernel_position(65, LongBits::L64), pos(1, 0));
    }

    #[test]
    fn kernel_positions_on_32_bit_longs_equal_the_u32_view() {
        for (g, p) in [
            (1, pos(0, 0)),
            (32, pos(0, 31)),
            (33, pos(1, 0)),
            (64, pos(1, 31)),
            (65, pos(2, 0)),
        ] {
            assert_eq!(kernel_position(g, LongBits::L32), p, "group {g}");
            assert_eq!(u32_position(g), p, "group {g}");
        }
        assert_eq!(
            kernel_position(u32::MAX, LongBits::L32),
            pos(134_217_727, 30)
        );
    }

    #[test]
    fn nl_groups_reaches_group_32_and_no_further() {
        assert_eq!(nl_groups_bit(1), Some(0x1));
        assert_eq!(nl_groups_bit(22), Some(0x0020_0000));
        assert_eq!(nl_groups_bit(32), Some(0x8000_0000));
        assert_eq!(nl_groups_bit(33), None);
        assert_eq!(nl_groups_bit(64), None);
        assert_eq!(nl_groups_bit(65), None);
    }

    #[test]
    fn test_bit_reads_the_kernel_words() {
        // Groups 1, 33 and 64 set on a 64-bit kernel: one long.
        let map = [1u64 | 1 << 32 | 1 << 63];
        for (g, set) in [(1, true), (2, false), (32, false), (33, true), (64, true)] {
            assert_eq!(test_bit(g - 1, &map, LongBits::L64), set, "group {g}");
        }
        // Group 65 needs a second long: past the end is "not set".
        assert!(!test_bit(64, &map, LongBits::L64));
        // The same groups on a 32-bit kernel: two longs.
        let map = [1u64, 1 | 1 << 31];
        for g in [1, 33, 64] {
            assert!(test_bit(g - 1, &map, LongBits::L32), "group {g}");
        }
        assert!(!test_bit(31, &map, LongBits::L32));
    }

    #[test]
    fn sizes_are_whole_longs_or_whole_u32s() {
        // NETLINK_USERSOCK: 32 groups. rtnetlink: RTNLGRP_MAX = 36.
        assert_eq!(nlgrpsz(32, LongBits::L64), 8);
        assert_eq!(nlgrpsz(32, LongBits::L32), 4);
        assert_eq!(nlgrpsz(36, LongBits::L64), 8);
        assert_eq!(nlgrpsz(36, LongBits::L32), 8);
        assert_eq!(nlgrpsz(65, LongBits::L64), 16);
        assert_eq!(list_memberships_len(32), 4);
        assert_eq!(list_memberships_len(36), 8);
        assert_eq!(list_memberships_len(64), 8);
        assert_eq!(list_memberships_len(65), 12);
    }

    #[test]
    fn u32_words_round_trip() {
        let g = Groups::of([1, 32, 33, 36, 64, 65]);
        let words = g.to_u32_words(65);
        assert_eq!(words, [0x8000_0001, 0x8000_0009, 0x1]);
        assert_eq!(Groups::from_u32_words(&words), g);
        // Groups beyond ngroups have no bit.
        assert_eq!(g.to_u32_words(36), [0x8000_0001, 0x9]);
        assert_eq!(hex_words(&[1, 8]), "00000001 00000008");
    }

    #[test]
    fn low_word_is_what_proc_shows() {
        assert_eq!(Groups::of([1, 36]).low_word(), 0x1);
        assert_eq!(Groups::of([33]).low_word(), 0);
        assert_eq!(Groups::of([22, 32]).low_word(), 0x8020_0000);
    }

    #[test]
    fn kernel_longs_on_little_endian_read_like_u32_words() {
        // rtnetlink groups 1 and 36 on x86_64: one long, 0x0000_0008_0000_0001.
        let g = Groups::of([1, 36]);
        let bytes = g.to_kernel_longs(36, LE64);
        assert_eq!(bytes, [1, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(hex_bytes(&bytes), "01000000 08000000");
        assert_eq!(Groups::from_kernel_longs(&bytes, LE64, 0), Ok(g.clone()));
        // On little-endian machines the same bytes read as u32 words give
        // the same groups: the low half of a long comes first in memory.
        let as_u32: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(Groups::from_u32_words(&as_u32), g);
        // A 32-bit kernel: two 4-byte longs, the same bytes.
        assert_eq!(g.to_kernel_longs(36, LE32), bytes);
    }

    #[test]
    fn kernel_longs_on_big_endian_64_bit_swap_the_u32_halves() {
        let g = Groups::of([1, 36]);
        let bytes = g.to_kernel_longs(36, BE64);
        assert_eq!(bytes, [0, 0, 0, 8, 0, 0, 0, 1]);
        assert_eq!(Groups::from_kernel_longs(&bytes, BE64, 0), Ok(g.clone()));
        // Read as big-endian u32 words, group 1 turns into group 33 and
        // group 36 into group 4: the trap NETLINK_LIST_MEMBERSHIPS avoids.
        let as_u32: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(Groups::from_u32_words(&as_u32), Groups::of([4, 33]));
        // 32-bit big-endian longs are u32 words: no trap there.
        let bytes = g.to_kernel_longs(36, BE32);
        assert_eq!(bytes, [0, 0, 0, 1, 0, 0, 0, 8]);
        assert_eq!(Groups::from_kernel_longs(&bytes, BE32, 0), Ok(g));
    }

    #[test]
    fn a_partial_long_is_malformed() {
        let err = Groups::from_kernel_longs(&[1, 0, 0, 0], LE64, 72).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed NETLINK_DIAG_GROUPS at offset 72: 4 bytes are not a whole number of \
             8-byte unsigned longs"
        );
        assert!(Groups::from_kernel_longs(&[1, 0, 0, 0], LE32, 0).is_ok());
        assert_eq!(
            Groups::from_kernel_longs(&[], LE64, 0),
            Ok(Groups::new()),
            "an empty bitmap is no groups"
        );
    }

    #[test]
    fn group_65_lives_in_the_second_long() {
        let g = Groups::of([64, 65]);
        let bytes = g.to_kernel_longs(65, LE64);
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 0, 0, 0, 0x80]);
        assert_eq!(&bytes[8..], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Groups::from_kernel_longs(&bytes, LE64, 0), Ok(g));
    }

    #[test]
    fn the_host_layout_is_the_compilers() {
        assert_eq!(
            LongLayout::HOST.bits.bytes(),
            std::mem::size_of::<libc::c_ulong>()
        );
        assert_eq!(
            LongLayout::HOST.endian == Endian::Little,
            cfg!(target_endian = "little")
        );
    }

    #[test]
    fn display() {
        assert_eq!(Groups::of([36, 1]).to_string(), "1,36");
        assert_eq!(Groups::new().to_string(), "-");
        assert_eq!(Groups::of([0]).to_string(), "-");
    }
}
