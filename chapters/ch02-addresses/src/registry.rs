//! The `registered_port` module (`kmod/ch02-addresses/registered_port.c`)
//! and its fixed twin `registered_release`: a socket registers its port id;
//! later, a NOTIFY request from any socket makes the module send an EVENT
//! to the registered port id.

use nlbook_common::uapi::NLMSG_MIN_TYPE;

/// The module files a client may meet: same protocol, same messages.
pub const MODULES: &str = "registered_port.ko or registered_release.ko";

// ANCHOR: types
/// "Send my events here": the module records the sending socket's port id.
pub const REGISTER: u16 = NLMSG_MIN_TYPE;
/// "Send this text to the registered socket"; payload: 1 to 64 bytes of
/// text. The acknowledgement reports the module's unicast: 0, `ENOTCONN`
/// (nobody registered) or `ECONNREFUSED` (the registered socket is gone).
pub const NOTIFY: u16 = NLMSG_MIN_TYPE + 1;
/// What the module sends to the registered port id; payload: the text and
/// a NUL.
pub const EVENT: u16 = NLMSG_MIN_TYPE + 2;
// ANCHOR_END: types
