//! Stand-ins for real machines that serve recorded traffic over real sockets, for tests and for
//! plugin authors: an SHDR adapter ([`shdr`]), an MTConnect agent ([`agent`]) and a scripted
//! Haas MDC port ([`haas`]). The `chatter replay` commands wrap them.

pub mod agent;
pub mod haas;
pub mod shdr;
