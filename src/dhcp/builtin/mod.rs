//! hotbond's own DHCPv4 client, run inside the bond's job instead of a child process:
//! [`machine`] decides (RFC 2131, no I/O), [`codec`] reads and writes the messages.

pub mod codec;
pub mod lease;
pub mod machine;

pub use lease::{BootTime, Lease, Route};
pub use machine::{Config, Destination, Effect, Link, Listen, Machine, State};
