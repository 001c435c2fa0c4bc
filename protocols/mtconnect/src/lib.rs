//! MTConnect without I/O: parsers and writers shared by the `shdr` and `mtconnect` driver
//! plugins (compiled to WebAssembly) and by the host's replay tools (compiled natively).

pub mod devices;
pub mod shdr;
pub mod streams;
pub mod time;
pub mod vocabulary;
