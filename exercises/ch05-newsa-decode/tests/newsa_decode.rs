//! The checks for `ch05-newsa-decode`. Run them with `cargo test`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ch05_newsa_decode::{
    AF_INET, AF_INET6, Error, Sa, USERSA_INFO_LEN, address, decode_newsa, decode_usersa_info,
};

/// The XFRM_MSG_NEWSA event the VM lab captured on Debian's 6.1
/// (`ch05-sa-monitor --hex`, `curlft.add_time` zeroed): ESP, SPI 0xc0de,
/// 192.0.2.1 -> 192.0.2.2, transport mode, reqid 5.
const CAPTURED: [&str; 34] = [
    "1c020000100000000100000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000200000000000000",
    "0000000000000000c000020200000000",
    "00000000000000000000c0de32000000",
    "c0000201000000000000000000000000",
    "ffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffff",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "05000000020000200000000000000000",
    "68000100686d61632873686132353629",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000100003031323334353637",
    "38396162636465663031323334353637",
    "38396162636465666c001400686d6163",
    "28736861323536290000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000010000",
    "80000000303132333435363738396162",
    "63646566303132333435363738396162",
    "63646566480002006563622863697068",
    "65725f6e756c6c290000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000000000000",
    "00000000000000000000000010000a00",
    "000000000000000000000000",
];

fn captured() -> Vec<u8> {
    CAPTURED
        .concat()
        .as_bytes()
        .chunks(2)
        .map(|h| u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16).unwrap_or(0))
        .collect()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// The captured event turned into an IPv6 tunnel-mode SA: family AF_INET6,
/// 2001:db8::1 -> 2001:db8::2, mode 1.
fn captured_v6() -> Vec<u8> {
    let mut m = captured();
    let info = 16;
    let dst: Ipv6Addr = "2001:db8::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
    let src: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
    m[info + 56..info + 72].copy_from_slice(&dst.octets());
    m[info + 80..info + 96].copy_from_slice(&src.octets());
    m[info + 212..info + 214].copy_from_slice(&AF_INET6.to_ne_bytes());
    m[info + 214] = 1;
    m
}

#[test]
fn addresses_by_family() {
    let mut raw = [0u8; 16];
    raw[..4].copy_from_slice(&[192, 0, 2, 1]);
    assert_eq!(address(&raw, AF_INET), Some(v4(192, 0, 2, 1)));
    let six: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
    assert_eq!(address(&six.octets(), AF_INET6), Some(IpAddr::V6(six)));
    // The same 16 bytes mean different addresses under different families.
    assert_eq!(
        address(&six.octets(), AF_INET),
        Some(v4(0x20, 0x01, 0x0d, 0xb8))
    );
    assert_eq!(address(&raw, 0), None);
    assert_eq!(address(&raw, 7), None);
}

#[test]
fn decodes_the_captured_event() {
    let m = captured();
    assert_eq!(m.len(), 540);
    assert_eq!(
        decode_newsa(&m),
        Ok(Sa {
            family: AF_INET,
            proto: 50,
            spi: 0xc0de,
            src: v4(192, 0, 2, 1),
            dst: v4(192, 0, 2, 2),
            mode: 0,
            reqid: 5,
        })
    );
}

#[test]
fn decodes_an_ipv6_tunnel_sa() {
    let sa = decode_newsa(&captured_v6());
    let src: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
    let dst: Ipv6Addr = "2001:db8::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
    assert_eq!(
        sa,
        Ok(Sa {
            family: AF_INET6,
            proto: 50,
            spi: 0xc0de,
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            mode: 1,
            reqid: 5,
        })
    );
}

#[test]
fn the_spi_is_big_endian() {
    let mut m = captured();
    m[16 + 72..16 + 76].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    assert_eq!(decode_newsa(&m).map(|sa| sa.spi), Ok(0x1234_5678));
}

#[test]
fn usersa_info_on_its_own() {
    let m = captured();
    let sa = decode_usersa_info(&m[16..16 + USERSA_INFO_LEN]);
    assert_eq!(sa.map(|sa| (sa.reqid, sa.dst)), Ok((5, v4(192, 0, 2, 2))));
    assert_eq!(
        decode_usersa_info(&m[16..100]),
        Err(Error::Truncated {
            offset: 0,
            need: 224,
            have: 84
        })
    );
    let mut bad = m[16..16 + USERSA_INFO_LEN].to_vec();
    bad[212..214].copy_from_slice(&0u16.to_ne_bytes());
    assert_eq!(
        decode_usersa_info(&bad),
        Err(Error::BadFamily {
            offset: 212,
            family: 0
        })
    );
}

#[test]
fn header_errors() {
    let m = captured();
    assert_eq!(
        decode_newsa(&m[..10]),
        Err(Error::Truncated {
            offset: 0,
            need: 16,
            have: 10
        })
    );
    assert_eq!(
        decode_newsa(&m[..200]),
        Err(Error::BadLength {
            len: 540,
            have: 200
        })
    );
    let mut small = m.clone();
    small[..4].copy_from_slice(&8u32.to_ne_bytes());
    assert_eq!(
        decode_newsa(&small),
        Err(Error::BadLength { len: 8, have: 540 })
    );
    let mut other = m.clone();
    other[4..6].copy_from_slice(&0x11u16.to_ne_bytes());
    assert_eq!(
        decode_newsa(&other),
        Err(Error::NotNewSa { nlmsg_type: 0x11 })
    );
}

#[test]
fn errors_inside_count_from_the_message() {
    let m = captured();
    // nlmsg_len says 100: the structure is cut at the message's end, even
    // though more bytes follow in the buffer.
    let mut short = m.clone();
    short[..4].copy_from_slice(&100u32.to_ne_bytes());
    assert_eq!(
        decode_newsa(&short),
        Err(Error::Truncated {
            offset: 16,
            need: 224,
            have: 84
        })
    );
    let mut bad = m;
    bad[16 + 212..16 + 214].copy_from_slice(&7u16.to_ne_bytes());
    assert_eq!(
        decode_newsa(&bad),
        Err(Error::BadFamily {
            offset: 228,
            family: 7
        })
    );
}

#[test]
fn never_panics() {
    let m = captured();
    for n in 0..m.len() {
        let _ = decode_newsa(&m[..n]);
    }
    for at in 0..m.len() {
        for value in [0x00, 0x02, 0x0a, 0xff] {
            let mut c = m.clone();
            c[at] = value;
            let _ = decode_newsa(&c);
        }
    }
}
