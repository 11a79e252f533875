//! Facts about neli 0.7.5 that chapter 11 relies on and the book states.

use neli::consts::nl::NlmsgerrAttr;
use neli::err::{NlmsgerrBuilder, NlmsghdrErrBuilder};
use neli::genl::{AttrTypeBuilder, NlattrBuilder};
use neli::types::{Buffer, GenlBuffer};

/// `NlRouter` hands every answer through `Nlmsghdr::to_typed`, which for an
/// error calls `Nlmsgerr::to_typed`: it rebuilds the error without its
/// extended-ACK attributes. So a router's caller never sees the kernel's
/// message; the chapter's client reads answers with `NlSocketHandle`.
#[test]
fn to_typed_drops_the_extended_ack() {
    let message = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(NlmsgerrAttr::Msg)
                .build()
                .unwrap(),
        )
        .nla_payload("invalid attribute length")
        .build()
        .unwrap();
    let request = NlmsghdrErrBuilder::default()
        .nl_type(0x20u16)
        .nl_payload(Buffer::from(&[1u8, 1, 0, 0][..]))
        .build()
        .unwrap();
    let err = NlmsgerrBuilder::default()
        .error(-libc::EINVAL)
        .nlmsg(request)
        .ext_ack(std::iter::once(message).collect::<GenlBuffer<_, _>>())
        .build()
        .unwrap();
    assert_eq!(err.ext_ack().iter().count(), 1);

    let typed = err.to_typed::<u16, Buffer>().unwrap();
    assert_eq!(*typed.error(), -libc::EINVAL);
    assert_eq!(typed.ext_ack().iter().count(), 0);
}
