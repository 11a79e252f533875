//! The checks for `ch11-family-groups`. Run them with `cargo test`.

use ch11_family_groups::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_MCAST_GROUPS, Error, Family, GENL_ID_CTRL, Group, group_id,
    parse_family,
};

/// nlctrl's answer about itself, captured on x86_64 (Linux 6.18): it has
/// operations and policies too, which a decoder skips.
const NLCTRL: &[&str] = &[
    "88000000100000000100000017330000010200000b0002006e6c6374726c0000",
    "0600010010000000080003000200000008000400000000000800050000000000",
    "2c000600140001000800010003000000080002000e0000001400020008000100",
    "0a000000080002000c0000001c0007001800010008000200100000000b000100",
    "6e6f746966790000",
];

/// nlctrl's answer about "netdev", captured the same way: two groups.
const NETDEV: &[&str] = &[
    "1c010000100000000200000017330000010200000b0002006e65746465760000",
    "0600010014000000080003000100000008000400000000000800050000000000",
    "a4000600140001000800010001000000080002000e0000001400020008000100",
    "05000000080002000e00000014000300080001000a000000080002000e000000",
    "14000400080001000b000000080002000e00000014000500080001000c000000",
    "080002000c00000014000600080001000d000000080002000b00000014000700",
    "080001000e000000080002000b00000014000800080001000f00000008000200",
    "0a00000038000700180001000800020004000000090001006d676d7400000000",
    "1c00020008000200050000000e000100706167652d706f6f6c000000",
];

fn bytes(hex: &[&str]) -> Vec<u8> {
    let hex: String = hex.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A message of `nlmsg_type` with this payload, `nlmsg_len` right.
fn message(nlmsg_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
    m.extend_from_slice(&nlmsg_type.to_ne_bytes());
    m.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(payload);
    m
}

fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut a = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(payload);
    a.resize((a.len() + 3) & !3, 0);
    a
}

/// A CTRL_CMD_NEWFAMILY answer (genl header, then `attrs`).
fn answer(attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = vec![1u8, 2, 0, 0];
    for a in attrs {
        payload.extend_from_slice(a);
    }
    message(GENL_ID_CTRL, &payload)
}

#[test]
fn nlctrl_describes_itself() {
    let family = parse_family(&bytes(NLCTRL)).unwrap();
    assert_eq!(
        family,
        Family {
            id: 0x10,
            name: "nlctrl".into(),
            version: 2,
            groups: vec![Group {
                name: "notify".into(),
                id: 0x10
            }],
        }
    );
}

#[test]
fn netdev_has_two_groups() {
    let family = parse_family(&bytes(NETDEV)).unwrap();
    assert_eq!(
        (family.id, family.name.as_str(), family.version),
        (0x14, "netdev", 1)
    );
    let names: Vec<(&str, u32)> = family
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.id))
        .collect();
    assert_eq!(names, [("mgmt", 4), ("page-pool", 5)]);
}

#[test]
fn groups_are_found_by_name() {
    let family = parse_family(&bytes(NETDEV)).unwrap();
    assert_eq!(group_id(&family, "page-pool"), Some(5));
    assert_eq!(group_id(&family, "mgmt"), Some(4));
    assert_eq!(group_id(&family, "notify"), None);
}

#[test]
fn a_family_without_groups_has_an_empty_list() {
    let a = answer(&[
        attr(CTRL_ATTR_FAMILY_ID, &0x1bu16.to_ne_bytes()),
        attr(2, b"tcp_metrics\0"),
    ]);
    let family = parse_family(&a).unwrap();
    assert_eq!((family.id, family.version), (0x1b, 0));
    assert_eq!(family.name, "tcp_metrics");
    assert!(family.groups.is_empty());
}

#[test]
fn enoent_is_a_refusal() {
    let mut payload = (-2i32).to_ne_bytes().to_vec();
    payload.extend_from_slice(&bytes(NLCTRL)[..16]);
    assert_eq!(
        parse_family(&message(2, &payload)),
        Err(Error::Refused { errno: 2 })
    );
    assert_eq!(
        parse_family(&message(2, &[0xfe, 0xff])),
        Err(Error::Truncated {
            offset: 16,
            need: 4,
            have: 2
        })
    );
}

#[test]
fn other_families_are_not_nlctrl() {
    let mut other = bytes(NLCTRL);
    other[4..6].copy_from_slice(&0x20u16.to_ne_bytes());
    assert_eq!(
        parse_family(&other),
        Err(Error::NotNlctrl { nlmsg_type: 0x20 })
    );
}

#[test]
fn lengths_are_checked_before_use() {
    let good = bytes(NLCTRL);
    assert_eq!(
        parse_family(&good[..10]),
        Err(Error::Truncated {
            offset: 0,
            need: 16,
            have: 10
        })
    );
    // nlmsg_len past the datagram, and smaller than the header.
    assert_eq!(
        parse_family(&good[..100]),
        Err(Error::BadLength {
            offset: 0,
            len: 136
        })
    );
    let mut small = good.clone();
    small[0..4].copy_from_slice(&8u32.to_ne_bytes());
    assert_eq!(
        parse_family(&small),
        Err(Error::BadLength { offset: 0, len: 8 })
    );
    // No room for the genl header.
    assert_eq!(
        parse_family(&message(GENL_ID_CTRL, &[1, 2])),
        Err(Error::Truncated {
            offset: 16,
            need: 4,
            have: 2
        })
    );
    // An attribute whose length runs past the message: the name, at 20.
    let mut long = good.clone();
    long[20..22].copy_from_slice(&200u16.to_ne_bytes());
    assert_eq!(
        parse_family(&long),
        Err(Error::BadLength {
            offset: 20,
            len: 200
        })
    );
    // An attribute length below its header.
    let mut tiny = good.clone();
    tiny[20..22].copy_from_slice(&3u16.to_ne_bytes());
    assert_eq!(
        parse_family(&tiny),
        Err(Error::BadLength { offset: 20, len: 3 })
    );
    // Two stray bytes after the last attribute (nlmsg_len grown by 2).
    let mut stray = good.clone();
    stray.extend_from_slice(&[0, 0]);
    stray[0..4].copy_from_slice(&138u32.to_ne_bytes());
    assert_eq!(
        parse_family(&stray),
        Err(Error::Truncated {
            offset: 136,
            need: 4,
            have: 2
        })
    );
}

#[test]
fn arbitrary_prefixes_and_corruptions_never_panic() {
    for capture in [bytes(NLCTRL), bytes(NETDEV)] {
        for cut in 0..capture.len() {
            let mut prefix = capture[..cut].to_vec();
            if prefix.len() >= 4 {
                prefix[0..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            let _ = parse_family(&prefix);
        }
        for i in 0..capture.len() {
            for v in [0u8, 3, 0xff] {
                let mut bent = capture.clone();
                bent[i] = v;
                let _ = parse_family(&bent);
            }
        }
    }
}

#[test]
fn the_family_id_and_name_are_required() {
    let no_id = answer(&[attr(2, b"x\0")]);
    assert_eq!(
        parse_family(&no_id),
        Err(Error::BadFamily {
            what: "CTRL_ATTR_FAMILY_ID"
        })
    );
    let wide_id = answer(&[
        attr(CTRL_ATTR_FAMILY_ID, &0x10u32.to_ne_bytes()),
        attr(2, b"x\0"),
    ]);
    assert_eq!(
        parse_family(&wide_id),
        Err(Error::BadFamily {
            what: "CTRL_ATTR_FAMILY_ID"
        })
    );
    let no_name = answer(&[attr(CTRL_ATTR_FAMILY_ID, &0x10u16.to_ne_bytes())]);
    assert_eq!(
        parse_family(&no_name),
        Err(Error::BadFamily {
            what: "CTRL_ATTR_FAMILY_NAME"
        })
    );
}

#[test]
fn a_group_needs_a_name_and_an_id() {
    // The groups nest starts at 40 (after the id's 8 bytes and the name's
    // 12); its first entry at 44.
    let entry = attr(1 | 0x8000, &attr(2, &7u32.to_ne_bytes()));
    let a = answer(&[
        attr(CTRL_ATTR_FAMILY_ID, &0x21u16.to_ne_bytes()),
        attr(2, b"demo\0"),
        attr(CTRL_ATTR_MCAST_GROUPS | 0x8000, &entry),
    ]);
    assert_eq!(parse_family(&a), Err(Error::BadGroup { offset: 44 }));
    // The nest flag is masked: the same group, complete, decodes.
    let mut fields = attr(2, &7u32.to_ne_bytes());
    fields.extend(attr(1, b"events\0"));
    let a = answer(&[
        attr(CTRL_ATTR_FAMILY_ID, &0x21u16.to_ne_bytes()),
        attr(2, b"demo\0"),
        attr(CTRL_ATTR_MCAST_GROUPS | 0x8000, &attr(1 | 0x8000, &fields)),
    ]);
    let family = parse_family(&a).unwrap();
    assert_eq!(group_id(&family, "events"), Some(7));
}
